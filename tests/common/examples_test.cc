// Every example sweep in deploy/examples parses and expands to the job count
// its description promises.
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "common/sweep_spec.h"

namespace lcsweep {
namespace {

std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(ExamplesTest, EveryExampleParsesAndExpands) {
  const std::map<std::string, size_t> expected_jobs = {
      {"table1.json", 48},          {"lc_rate_curve.json", 88},   {"kernel_size.json", 32},
      {"intermediate_op.json", 32}, {"init_ablation.json", 56},   {"sharing_ablation.json", 36},
      {"quick_fashion_mnist.json", 6}, {"random_lr_wd.json", 24}};
  std::filesystem::path dir = std::filesystem::path(LCSWEEP_SOURCE_DIR) / "deploy" / "examples";
  size_t seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    ++seen;
    std::string file = entry.path().filename().string();
    auto s = ParseSweepText(ReadFile(entry.path()));
    ASSERT_TRUE(s.ok()) << file << ": " << s.status().ToString();
    EXPECT_EQ(s->duplicates, 0) << file;
    EXPECT_EQ(s->name + ".json", file);
    EXPECT_FALSE(s->description.empty()) << file;
    auto it = expected_jobs.find(file);
    ASSERT_NE(it, expected_jobs.end()) << "add " << file << " to this test";
    EXPECT_EQ(s->jobs.size(), it->second) << file;
  }
  EXPECT_EQ(seen, expected_jobs.size());
}

TEST(ExamplesTest, Table1MatchesThePaper) {
  auto s = ParseSweepText(
      ReadFile(std::filesystem::path(LCSWEEP_SOURCE_DIR) / "deploy/examples/table1.json"));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  std::map<std::string, int> per_dataset;
  for (const ExpandedJob& j : s->jobs) {
    ++per_dataset[j.config.data.name];
    EXPECT_EQ(j.config.model.depth, 20);
    EXPECT_EQ(j.config.model.width, 16);
    EXPECT_EQ(j.config.train.epochs, 75);
    if (j.config.model.conv.mode == "lc") {
      EXPECT_EQ(j.config.model.conv.lc_rate, 128);
    } else {
      EXPECT_EQ(j.config.model.conv.mode, "learned");
    }
  }
  EXPECT_EQ(per_dataset, (std::map<std::string, int>{
                             {"cifar10", 12}, {"cifar100", 12}, {"fashion_mnist", 12}, {"svhn", 12}}));
}

}  // namespace
}  // namespace lcsweep
