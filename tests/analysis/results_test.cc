// analysis/'s flatten and seed statistics against independent computations.
#include <cmath>
#include <random>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "analysis/flatten.h"
#include "analysis/seed_groups.h"
#include "analysis/stats.h"

namespace lcsweep::analysis {
namespace {

TEST(FlattenResultTest, NamesNestedObjectsAndLabelledArrays) {
  nlohmann::json r = nlohmann::json::parse(R"({
    "test": {"accuracy": 0.9, "loss": 0.3, "dataset": "cifar10", "ok": true},
    "eval": {"fgsm": [{"eps": 0.00392156862745098, "accuracy": 0.5},
                      {"eps": 0.0078431372549, "accuracy": 0.25}],
             "corruptions": [{"name": "fog", "severity": 3, "accuracy": 0.7}],
             "plain": [{"accuracy": 0.1}]},
    "curve": [1, 2.5],
    "weights": {"total": 272474}
  })");
  std::map<std::string, double> f = FlattenResult(r);
  std::map<std::string, double> expected = {
      {"test.accuracy", 0.9},
      {"test.loss", 0.3},
      {"eval.fgsm[eps=0.00392157].accuracy", 0.5},
      {"eval.fgsm[eps=0.00784314].accuracy", 0.25},
      {"eval.corruptions[name=fog,severity=3].accuracy", 0.7},
      {"eval.plain[0].accuracy", 0.1},
      {"curve[0]", 1},
      {"curve[1]", 2.5},
      {"weights.total", 272474},
  };
  EXPECT_EQ(f, expected);
}

TEST(FlattenResultTest, LeavesOutTheConfigEchoAndTheHistory) {
  nlohmann::json r = {{"job", {{"train", {{"lr", 0.01}}}}},
                      {"history", {{{"epoch", 0}, {"test_accuracy", 0.5}}}},
                      {"final", {{"test_accuracy", 0.9}}},
                      {"evaluation", {{"job", 1}}}};  // only the top-level sections are left out
  EXPECT_EQ(FlattenResult(r), (std::map<std::string, double>{{"final.test_accuracy", 0.9}, {"evaluation.job", 1}}));
}

TEST(FlattenResultTest, DeepDocumentsDoNotExhaustTheStack) {
  // A client-controlled depth: 100,000 nested arrays would overflow a
  // recursive walk (each frame is hundreds of bytes).
  constexpr int kDepth = 100000;
  std::string text = "{\"x\":" + std::string(kDepth, '[') + "1" + std::string(kDepth, ']') + "}";
  nlohmann::json r = nlohmann::json::parse(text);
  std::map<std::string, double> f = FlattenResult(r);
  ASSERT_EQ(f.size(), 1u);
  std::string name = "x";
  for (int i = 0; i < kDepth; ++i) name += "[0]";
  EXPECT_EQ(f.begin()->first, name);
  EXPECT_EQ(f.begin()->second, 1);
}

TEST(ComputeStatsTest, MatchesSumOfSquaresFormula) {
  std::mt19937 rng(7);
  std::normal_distribution<double> d(0.9, 0.02);
  for (int n = 1; n <= 9; ++n) {
    std::vector<double> v;
    for (int i = 0; i < n; ++i) v.push_back(d(rng));
    Stats s = ComputeStats(v);
    // Independent: one-pass sums (a different formula from the two-pass code).
    double sum = 0, sum_sq = 0;
    for (double x : v) {
      sum += x;
      sum_sq += x * x;
    }
    double mean = sum / n;
    double var = n > 1 ? (sum_sq - n * mean * mean) / (n - 1) : 0;
    EXPECT_EQ(s.n, n);
    EXPECT_NEAR(s.mean, mean, 1e-12);
    EXPECT_NEAR(s.std, std::sqrt(std::max(var, 0.0)), 1e-7);
  }
  EXPECT_EQ(ComputeStats({}).n, 0);
}

TEST(PoolStatsTest, EqualsTheStatisticsOfTheUnion) {
  std::mt19937 rng(11);
  std::normal_distribution<double> d(0.8, 0.05);
  std::vector<double> all;
  std::vector<Stats> parts;
  for (int size : {1, 3, 2, 5}) {
    std::vector<double> v;
    for (int i = 0; i < size; ++i) v.push_back(d(rng));
    all.insert(all.end(), v.begin(), v.end());
    parts.push_back(ComputeStats(v));
  }
  const Stats pooled = PoolStats(parts), direct = ComputeStats(all);
  EXPECT_EQ(pooled.n, direct.n);
  EXPECT_NEAR(pooled.mean, direct.mean, 1e-12);
  EXPECT_NEAR(pooled.std, direct.std, 1e-12);
  EXPECT_NEAR(StdError(direct), direct.std / std::sqrt(11.0), 1e-15);
  EXPECT_EQ(StdError(ComputeStats({0.5})), 0);
}

TEST(GroupBySeedTest, GroupsByHashAndCountsPendingAndUnparsable) {
  const std::string a_axes = R"({"model.conv.lc_rate": 2, "seed": 0})";
  const std::string r1 = R"({"final": {"test_accuracy": 0.5}})", r2 = R"({"final": {"test_accuracy": 0.7}})";
  std::vector<JobResultInput> jobs = {
      {1, "a", a_axes, R"({"seed": 0})", r1, true},
      {2, "b", R"({"seed": 0})", R"({"seed": 0})", "", false},
      {3, "a", a_axes, R"({"seed": 1})", r2, true},
      {4, "a", a_axes, R"({"seed": 2})", "not json", true},
  };
  SeedGroups g = GroupBySeed(jobs);
  ASSERT_EQ(g.groups.size(), 2u);
  EXPECT_EQ(g.pending_jobs, 1);
  EXPECT_EQ(g.groups[0].axes_json, R"({"model.conv.lc_rate":2})");
  EXPECT_EQ(g.groups[0].job_ids, (std::vector<int64_t>{1, 3, 4}));
  EXPECT_EQ(g.groups[0].seeds, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(g.groups[0].n_succeeded, 3);
  const Stats& s = g.groups[0].figures.at("final.test_accuracy");
  EXPECT_EQ(s.n, 2);
  EXPECT_NEAR(s.mean, 0.6, 1e-15);
  EXPECT_NEAR(s.std, std::sqrt(0.02), 1e-15);
  EXPECT_TRUE(g.groups[1].figures.empty());
}

}  // namespace
}  // namespace lcsweep::analysis
