// The coordinator's GetResults over analysis/'s seed grouping, on the fake
// store: grouping, pending counts and mean/std/n against an independent
// computation.
#include <cmath>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/core/coordinator.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/memory_store.h"
#include "tests/server/test_specs.h"

namespace lcsweep {
namespace {

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
    auto lease = coord->LeaseJob({w, true, false, 0, ""});
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
