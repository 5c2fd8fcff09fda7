// RunEvaluation end to end on a small trained conv net: result layout, mode
// restoration, consistency between sections, .npy corruptions.
#include "worker/eval/evaluate.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/eval/test_nets.h"
#include "worker/eval/corruptions.h"
#include "worker/eval/npy.h"

namespace lcsweep::eval {
namespace {

namespace fs = std::filesystem;
using testing::QuadrantData;
using testing::TrainedTinyNet;

class EvaluateTest : public ::testing::Test {
 protected:
  void SetUp() override { torch::set_num_threads(1); }  // tiny tensors: 1 thread is fastest
};

TEST_F(EvaluateTest, FullResultLayoutAndConsistency) {
  auto net = TrainedTinyNet(3, 200);
  auto [x, y] = QuadrantData(300, 3, 5);
  EvalConfig cfg;
  cfg.fgsm_eps = {0.0, 1.0 / 255, 0.1};
  cfg.pgd_eps = {0.0, 0.2};
  cfg.pgd_steps = 6;
  cfg.pgd_step_fraction = 0.25;
  cfg.corruptions = {"all"};
  cfg.severities = {1, 5};
  cfg.robustness_limit = 200;
  EvalInputs in{x, y, torch::kCPU, /*batch_size=*/64, /*seed=*/3};
  net->train();
  auto r = RunEvaluation(*net, cfg, in);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(net->is_training()) << "train mode must be restored";
  const nlohmann::json& j = *r;
  const double clean = j["clean"]["accuracy"];
  EXPECT_EQ(j["clean"]["n"], 300);
  EXPECT_GT(clean, 0.9);
  EXPECT_EQ(j["robustness_n"], 200);
  // eps 0 equals the clean accuracy of the robustness subset.
  net->eval();
  const double clean200 = EvaluateClean(*net, x.narrow(0, 0, 200), y.narrow(0, 0, 200), torch::kCPU, 64).accuracy;
  ASSERT_EQ(j["fgsm"].size(), 3u);
  EXPECT_DOUBLE_EQ(j["fgsm"][0]["accuracy"].get<double>(), clean200);
  EXPECT_DOUBLE_EQ(j["pgd"][0]["accuracy"].get<double>(), clean200);
  for (const auto& a : j["fgsm"]) EXPECT_LE(a["accuracy"].get<double>(), clean200);
  for (const auto& a : j["pgd"]) EXPECT_LE(a["accuracy"].get<double>(), clean200);
  EXPECT_LT(j["pgd"][1]["accuracy"].get<double>(), clean200);
  EXPECT_NEAR(j["pgd"][1]["step_size"].get<double>(), 0.2 * 0.25, 1e-12);
  // Corruptions: 18 generated, frost omitted with a reason, mean over all values.
  const nlohmann::json& c = j["corruptions"];
  EXPECT_EQ(c["source"], "generated");
  EXPECT_TRUE(c["omitted"].contains("frost"));
  double sum = 0;
  int count = 0;
  for (const std::string& name : AllCorruptionNames()) {
    if (name == "frost") continue;
    ASSERT_TRUE(c.contains(name)) << name;
    ASSERT_EQ(c[name].size(), 2u);
    for (const auto& v : c[name]) {
      sum += v.get<double>();
      ++count;
    }
  }
  EXPECT_EQ(count, 36);
  EXPECT_NEAR(c["mean"].get<double>(), sum / count, 1e-12);
  // Filter statistics of the single conv.
  ASSERT_EQ(j["filter_stats"].size(), 1u);
  EXPECT_EQ(j["filter_stats"][0]["name"], "conv");
  EXPECT_TRUE(j["filter_stats"][0]["P"].is_null());
  EXPECT_TRUE(j["timings_s"].contains("pgd"));
}

TEST_F(EvaluateTest, DeterministicForASeed) {
  auto net = TrainedTinyNet(1, 100);
  auto [x, y] = QuadrantData(100, 1, 6);
  EvalConfig cfg;
  cfg.fgsm_eps = {0.05};
  cfg.pgd_eps = {0.05};
  cfg.pgd_steps = 3;
  cfg.corruptions = {"gaussian_noise", "glass_blur"};
  EvalInputs in{x, y, torch::kCPU, 32, 9};
  auto a = RunEvaluation(*net, cfg, in);
  auto b = RunEvaluation(*net, cfg, in);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)["pgd"], (*b)["pgd"]);
  EXPECT_EQ((*a)["corruptions"], (*b)["corruptions"]);
  EXPECT_FALSE(net->is_training());
}

TEST_F(EvaluateTest, BadConfigIsRejectedWithClearErrors) {
  auto net = TrainedTinyNet(1, 1);
  auto [x, y] = QuadrantData(10, 1, 6);
  EvalInputs in{x, y, torch::kCPU, 32, 0};
  EvalConfig cfg;
  cfg.corruptions = {"fisheye"};
  auto r = RunEvaluation(*net, cfg, in);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("eval.corruptions"), std::string::npos) << r.status().message();
  cfg.corruptions = {"frost"};  // named explicitly, cannot be generated
  r = RunEvaluation(*net, cfg, in);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("frost"), std::string::npos);
  cfg.corruptions = {"fog"};
  cfg.severities = {6};
  EXPECT_FALSE(RunEvaluation(*net, cfg, in).ok());
  EvalInputs bad = in;
  bad.labels = y.narrow(0, 0, 5);
  EXPECT_FALSE(RunEvaluation(*net, EvalConfig{}, bad).ok());
}

TEST_F(EvaluateTest, ReadsCifar10CStyleNpyFolder) {
  const fs::path dir = fs::temp_directory_path() / ("lcsweep_eval_npy_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto net = TrainedTinyNet(3, 200);
  auto [x8, y] = QuadrantData(40, 3, 8);
  // 32x32 versions of the images (nearest upscaling keeps the quadrants).
  torch::Tensor x = torch::round(x8.repeat_interleave(4, 2).repeat_interleave(4, 3) * 255) / 255;
  // Severities stacked: 1 = the clean images, 2..5 = black images.
  torch::Tensor hwc = (x * 255).round().to(torch::kUInt8).permute({0, 2, 3, 1}).contiguous();
  torch::Tensor stacked = torch::cat({hwc, torch::zeros({160, 32, 32, 3}, torch::kUInt8)});
  ASSERT_TRUE(WriteNpy((dir / "contrast.npy").string(), stacked).ok());
  ASSERT_TRUE(WriteNpy((dir / "labels.npy").string(), y.repeat({5}).to(torch::kUInt8)).ok());
  EvalConfig cfg;
  cfg.fgsm_eps = {};
  cfg.corruptions = {"contrast"};
  cfg.severities = {1, 3};
  cfg.corruptions_root = dir.string();
  cfg.filter_stats = false;
  EvalInputs in{x, y, torch::kCPU, 16, 0};
  auto r = RunEvaluation(*net, cfg, in);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  net->eval();
  const double clean = EvaluateClean(*net, x, y, torch::kCPU, 16).accuracy;
  EXPECT_EQ((*r)["corruptions"]["source"], "npy");
  EXPECT_DOUBLE_EQ((*r)["corruptions"]["contrast"][0].get<double>(), clean);
  EXPECT_DOUBLE_EQ((*r)["clean"]["accuracy"].get<double>(), clean);
  EXPECT_FALSE(r->contains("filter_stats"));
  // A missing corruption file is named in the error.
  cfg.corruptions = {"fog"};
  auto missing = RunEvaluation(*net, cfg, in);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("fog.npy"), std::string::npos) << missing.status().message();
  // More images than one severity block holds.
  cfg.corruptions = {"contrast"};
  cfg.robustness_limit = 0;
  EvalInputs big{torch::cat({x, x}), torch::cat({y, y}), torch::kCPU, 16, 0};
  auto too_many = RunEvaluation(*net, cfg, big);
  ASSERT_FALSE(too_many.ok());
  EXPECT_NE(too_many.status().message().find("robustness_limit"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lcsweep::eval
