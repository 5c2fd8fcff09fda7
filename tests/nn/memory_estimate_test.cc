// The memory estimate against measured peak memory: each case trains a few
// SGD steps of a model in a child process (this binary run again with
// LCSWEEP_MEMORY_CHILD set) and reads the growth of its peak resident set
// (VmHWM, reset through /proc/self/clear_refs after LibTorch started), an
// independent measurement of what the step held. The estimate must be
// within 25% of it. Also the counting rules on a hand-sized model.
#include "worker/nn/memory_estimate.h"

#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/job_config_json.h"
#include "worker/nn/network.h"

namespace lcsweep::nn {
namespace {

struct Case {
  const char* name;
  const char* model_json;
  int64_t batch_size;
};

const Case kCases[] = {
    {"plain_resnet20_16", R"({"arch": "resnet_cifar", "depth": 20, "width": 16, "conv": {"mode": "learned"}})", 128},
    {"lc_e8_folded", R"({"arch": "resnet_cifar", "depth": 20, "width": 16, "conv": {"mode": "lc", "lc_rate": 8, "execution": "folded"}})", 128},
    {"lc_e4_unfolded", R"({"arch": "resnet_cifar", "depth": 20, "width": 16, "conv": {"mode": "lc", "lc_rate": 4, "execution": "unfolded"}})", 64},
};

JobConfig ConfigOf(const Case& c) {
  nlohmann::json j = {{"data", {{"name", "cifar10"}}},
                      {"model", nlohmann::json::parse(c.model_json)},
                      {"train", {{"batch_size", c.batch_size}, {"threads", 1}}}};
  StatusOr<JobConfig> config = JobConfigFromJson(j);
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  return config.ok() ? *config : JobConfig{};
}

// kB of a /proc/self/status line ("VmRSS", "VmHWM").
int64_t StatusKb(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::atoll(line.c_str() + key.size() + 1);
  }
  return -1;
}

// The child: prints "peak_growth_bytes N" and exits.
[[noreturn]] void RunChild(const Case& c) {
  // Every tensor-sized block straight from mmap and back on free, so the
  // resident set follows the live bytes (glibc's adaptive threshold would
  // keep freed activations in the heap and count them again).
  mallopt(M_MMAP_THRESHOLD, 64 * 1024);
  torch::set_num_threads(1);
  torch::manual_seed(0);
  {  // start LibTorch's CPU kernels before the baseline
    torch::Tensor warm = torch::randn({2, 3, 8, 8}, torch::requires_grad());
    torch::conv2d(warm, torch::randn({4, 3, 3, 3})).sum().backward();
  }
  const JobConfig config = ConfigOf(c);
  StatusOr<ModelSpec> spec = ModelSpecForJob(config);
  if (!spec.ok()) std::_Exit(3);
  std::ofstream("/proc/self/clear_refs") << "5";  // VmHWM := VmRSS
  const int64_t baseline_kb = StatusKb("VmRSS");
  StatusOr<Network> network = BuildNetwork(*spec);
  if (!network.ok()) std::_Exit(4);
  (*network)->train();
  torch::optim::SGD sgd((*network)->parameters(),
                        torch::optim::SGDOptions(0.1).momentum(config.train.momentum));
  for (int step = 0; step < 3; ++step) {
    torch::Tensor x = torch::randn({c.batch_size, spec->in_channels, spec->image_size, spec->image_size});
    torch::Tensor y = torch::randint(0, spec->num_classes, {c.batch_size}, torch::kLong);
    sgd.zero_grad();
    torch::nn::functional::cross_entropy((*network)->forward(x), y).backward();
    sgd.step();
  }
  const int64_t peak_kb = StatusKb("VmHWM");
  std::printf("peak_growth_bytes %lld\n", static_cast<long long>((peak_kb - baseline_kb) * 1024));
  std::fflush(stdout);
  std::_Exit(0);
}

// Runs this binary as the child for case `index`; returns its measurement.
int64_t MeasureInChild(size_t index) {
  char exe[4096] = {0};
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) return -1;
  const std::string cmd = "LCSWEEP_MEMORY_CHILD=" + std::to_string(index) + " '" + std::string(exe) +
                          "' --gtest_filter=MemoryEstimateChild.Run 2>/dev/null";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return -1;
  char line[512];
  long long bytes = -1;
  while (std::fgets(line, sizeof(line), pipe)) std::sscanf(line, "peak_growth_bytes %lld", &bytes);
  pclose(pipe);
  return bytes;
}

TEST(MemoryEstimateChild, Run) {
  const char* index = std::getenv("LCSWEEP_MEMORY_CHILD");
  if (index == nullptr) GTEST_SKIP() << "runs only as the child of EstimateIsWithin25PercentOfMeasuredPeak";
  RunChild(kCases[std::atoi(index)]);
}

TEST(MemoryEstimateTest, EstimateIsWithin25PercentOfMeasuredPeak) {
  for (size_t i = 0; i < std::size(kCases); ++i) {
    StatusOr<MemoryEstimate> estimate = EstimateJobMemory(ConfigOf(kCases[i]), /*on_cuda=*/false);
    ASSERT_TRUE(estimate.ok()) << estimate.status().ToString();
    const int64_t measured = MeasureInChild(i);
    ASSERT_GT(measured, 0) << kCases[i].name << ": the child measured nothing";
    const double ratio = static_cast<double>(estimate->total()) / static_cast<double>(measured);
    std::printf("%-18s estimate %8.1f MB  measured %8.1f MB  ratio %.3f  (activations %.1f MB)\n",
                kCases[i].name, estimate->total() / 1e6, measured / 1e6, ratio,
                estimate->activations / 1e6);
    EXPECT_GE(ratio, 0.75) << kCases[i].name;
    EXPECT_LE(ratio, 1.25) << kCases[i].name;
  }
}

// A one-layer model sized by hand: the counting rules of memory_estimate.h.
TEST(MemoryEstimateTest, CountsFollowTheDocumentedRules) {
  ModelAccount a;
  a.params_trained = 1000;
  a.params_stored = 1500;  // 500 frozen
  LayerAccount spatial;
  spatial.kind = "spatial";
  spatial.mode = "lc";
  spatial.execution = "unfolded";
  spatial.lc_rate = 4;
  spatial.in_channels = 3;
  spatial.out_channels = 8;
  spatial.kernel_size = 3;
  spatial.output_size = 10;
  LayerAccount shortcut;
  shortcut.kind = "conv";
  shortcut.out_channels = 16;
  shortcut.output_size = 5;
  a.layers = {spatial, shortcut};
  EstimateInputs in;
  in.batch_size = 2;
  in.in_channels = 3;
  in.image_size = 10;
  in.intermediate_ops = 1;
  in.data_set_bytes = 777;
  const MemoryEstimate e = EstimateTrainingMemory(a, in);
  EXPECT_EQ(e.parameters, 4000);
  EXPECT_EQ(e.frozen, 2000);
  EXPECT_EQ(e.gradients, 4000);
  EXPECT_EQ(e.optimizer_state, 4000);
  // input 300 + spatial 2*800 + intermediate 3200*(1+1) + shortcut 400 = 8700 per image
  EXPECT_EQ(e.activations, 8700 * 2 * 4);
  EXPECT_EQ(e.workspace, 2 * 3200 * 2 * 4);  // largest map: the 32 intermediate maps
  EXPECT_EQ(e.data_set, 777);
  in.momentum = false;
  EXPECT_EQ(EstimateTrainingMemory(a, in).optimizer_state, 0);
}

}  // namespace
}  // namespace lcsweep::nn
