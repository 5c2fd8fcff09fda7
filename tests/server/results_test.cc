// Results aggregation: flattening names and mean/std/n against an
// independent computation, through the Coordinator too.
#include "server/core/results.h"

#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "server/core/coordinator.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/memory_store.h"
#include "tests/server/test_specs.h"

namespace lcsweep {
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

TEST(ComputeStatsTest, MatchesSumOfSquaresFormula) {
  std::mt19937 rng(7);
  std::normal_distribution<double> d(0.9, 0.02);
  for (int n = 1; n <= 9; ++n) {
    std::vector<double> v;
    for (int i = 0; i < n; ++i) v.push_back(d(rng));
    FigureStats s = ComputeStats(v);
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

TEST(GetResultsTest, GroupsSeedsOfOneSettingAndAggregatesSucceededJobs) {
  FakeClock clock;
  MemoryStore store;
  auto coord = std::move(Coordinator::Create(&store, &clock, {})).value();
  SubmitSweepRequest req;
  req.spec_json = testing::GridSpec("r", {1, 2}, {0, 1, 2, 3});
  auto sub = coord->SubmitSweep(req);
  ASSERT_TRUE(sub.ok());
  WorkerRecord wr;
  wr.name = "w";
  int64_t w = coord->RegisterWorker(wr)->worker_id;
  // Accuracy = 0.5 + lc_rate/10 + seed/100; one job of lc_rate 2 fails.
  std::map<int, std::vector<double>> expected;  // lc_rate -> accuracies
  int failed = 0;
  while (true) {
    auto lease = coord->LeaseJob({w, true, false, 0});
    ASSERT_TRUE(lease.ok());
    if (!lease->has_value()) break;
    auto config = nlohmann::json::parse((*lease)->job.config_json);
    int rate = config["model"]["conv"]["lc_rate"];
    int seed = config["seed"];
    if (rate == 2 && seed == 3) {
      ASSERT_TRUE(coord->FailJob((*lease)->token, "x", false).ok());
      ++failed;
      continue;
    }
    double acc = 0.5 + rate / 10.0 + seed / 100.0;
    expected[rate].push_back(acc);
    nlohmann::json result = {{"test", {{"accuracy", acc}}}};
    ASSERT_TRUE(coord->CompleteJob((*lease)->token, result.dump()).ok());
  }
  ASSERT_EQ(failed, 1);
  auto res = coord->GetResults(sub->sweep_id);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->pending_jobs, 1);
  ASSERT_EQ(res->groups.size(), 2u);
  for (const ResultGroup& g : res->groups) {
    auto axes = nlohmann::json::parse(g.axes_json);
    EXPECT_FALSE(axes.contains("seed"));
    int rate = axes["model.conv.lc_rate"];
    EXPECT_EQ(g.job_ids.size(), 4u);
    const std::vector<double>& v = expected[rate];
    EXPECT_EQ(g.n_succeeded, static_cast<int64_t>(v.size()));
    EXPECT_EQ(g.seeds.size(), v.size());
    const FigureStats& s = g.figures.at("test.accuracy");
    double mean = 0;
    for (double x : v) mean += x / v.size();
    double ss = 0;
    for (double x : v) ss += (x - mean) * (x - mean);
    EXPECT_EQ(s.n, static_cast<int64_t>(v.size()));
    EXPECT_NEAR(s.mean, mean, 1e-12);
    EXPECT_NEAR(s.std, std::sqrt(ss / (v.size() - 1)), 1e-12);
  }
  EXPECT_EQ(res->groups[0].figures.at("test.accuracy").n, 4);
  EXPECT_EQ(res->groups[1].figures.at("test.accuracy").n, 3);
  EXPECT_EQ(coord->GetResults(999).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace lcsweep
