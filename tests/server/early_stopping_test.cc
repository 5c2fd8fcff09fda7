// Early stopping in the coordinator (fake clock, in-memory store; one case
// on SQLite for the restart): the median rule stops a running attempt that
// is worse than the other arms after the grace period and nothing when the
// arms are equal; the seeds rule stops the rest of an arm the test finds
// worse than the best one; a stop is its own state, heard by the worker as a
// cancel, accounted as "stopped", never applied to a job another sweep
// needs, and undone by a retry. Spec errors name their paths.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "common/sweep_spec.h"
#include "server/core/coordinator.h"
#include "server/store/sqlite_store.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/memory_store.h"
#include "tests/server/temp_dir.h"

namespace lcsweep {
namespace {

using ::lcsweep::testing::TempDir;
using ::testing::HasSubstr;

// Arms over model.conv.lc_rate x seeds, with an early-stopping policy.
std::string Spec(const std::string& name, const std::vector<int>& rates,
                 const std::vector<int>& seeds, const nlohmann::json& policy) {
  nlohmann::json spec = {{"name", name},
                         {"base", {{"data", {{"name", "synthetic"}}}, {"train", {{"epochs", 4}}}}},
                         {"grid", {{"model.conv.lc_rate", rates}}},
                         {"seeds", seeds}};
  if (!policy.is_null()) spec["early_stopping"] = policy;
  return spec.dump();
}

const nlohmann::json kMedian = {{"rule", "median"}, {"metric", "test.accuracy"},
                                {"grace_epochs", 1}, {"min_arms", 2}};

class EarlyStoppingTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(&memory_); }

  void Start(Store* store) {
    coord_.reset();
    auto c = Coordinator::Create(store, &clock_, {});
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    coord_ = std::move(c).value();
    WorkerRecord w;
    w.name = "w";
    w.host = "h";
    worker_ = coord_->RegisterWorker(w)->worker_id;
  }

  SubmitSweepResult Submit(const std::string& spec) {
    SubmitSweepRequest r;
    r.spec_json = spec;
    auto res = coord_->SubmitSweep(r);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    return res.ok() ? *res : SubmitSweepResult{};
  }

  // Leases until every job in `ids` is leased (the others leased on the
  // way stay running).
  void LeaseJobs(const std::set<int64_t>& ids) {
    std::set<int64_t> left = ids;
    for (int i = 0; i < 100 && !left.empty(); ++i) {
      LeaseRequest r;
      r.worker_id = worker_;
      auto l = coord_->LeaseJob(r);
      if (!l.ok() || !l->has_value()) break;
      tokens_[(*l)->job.id] = (*l)->token;
      left.erase((*l)->job.id);
    }
    EXPECT_TRUE(left.empty()) << left.size() << " jobs were not leased";
  }

  void Accuracy(int64_t job, int64_t epoch, double value) {
    MetricPoint p;
    p.name = "test.accuracy";
    p.epoch = epoch;
    p.step = (epoch + 1) * 10;
    p.value = value;
    ASSERT_TRUE(coord_->ReportMetrics(tokens_.at(job), {p}).ok());
  }

  JobState State(int64_t job) { return coord_->GetJob(job)->state; }

  FakeClock clock_;
  MemoryStore memory_;
  std::unique_ptr<Coordinator> coord_;
  int64_t worker_ = 0;
  std::map<int64_t, std::string> tokens_;
};

TEST_F(EarlyStoppingTest, TheMedianRuleStopsAnAttemptWorseThanTheOtherArms) {
  const SubmitSweepResult s = Submit(Spec("m", {1, 2, 4}, {0}, kMedian));
  const int64_t a = s.jobs[0].job_id, b = s.jobs[1].job_id, c = s.jobs[2].job_id;
  LeaseJobs({a, b, c});
  Accuracy(a, 0, 0.80);
  Accuracy(b, 0, 0.70);  // one other arm only: below min_arms
  EXPECT_EQ(State(b), JobState::kRunning);
  Accuracy(c, 0, 0.50);  // the median of a and b is 0.75
  EXPECT_EQ(State(c), JobState::kStopped);
  EXPECT_EQ(State(a), JobState::kRunning);
  EXPECT_EQ(State(b), JobState::kRunning);
  ListEventsRequest er;
  er.job_id = c;
  const std::vector<Event> events = *coord_->ListEvents(er);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().to_state, "stopped");
  EXPECT_THAT(events.back().reason, HasSubstr("median rule: test.accuracy 0.5 at epoch 0"));
  EXPECT_THAT(events.back().reason, HasSubstr("median 0.75 of 2 other arms"));
  // The worker hears it as a cancel; its usage row ends "stopped".
  HeartbeatRequest h;
  h.token = tokens_.at(c);
  auto beat = coord_->Heartbeat(h);
  ASSERT_TRUE(beat.ok());
  EXPECT_TRUE(beat->cancel_requested);
  ListUsageRequest ur;
  ur.job_id = c;
  EXPECT_EQ(coord_->ListUsage(ur)->at(0).outcome, "stopped");
  // A retry gives it another chance.
  EXPECT_EQ(coord_->RetryJob(c)->state, JobState::kQueued);
}

TEST_F(EarlyStoppingTest, EqualArmsAndTheGracePeriodStopNothing) {
  nlohmann::json policy = kMedian;
  policy["grace_epochs"] = 2;
  const SubmitSweepResult s = Submit(Spec("eq", {1, 2, 4}, {0}, policy));
  const int64_t a = s.jobs[0].job_id, b = s.jobs[1].job_id, c = s.jobs[2].job_id;
  LeaseJobs({a, b, c});
  Accuracy(a, 0, 0.9);
  Accuracy(b, 0, 0.9);
  Accuracy(c, 0, 0.1);  // far worse, but within the grace period
  EXPECT_EQ(State(c), JobState::kRunning);
  for (int64_t j : {a, b, c}) Accuracy(j, 1, 0.6);  // equal arms
  for (int64_t j : {a, b, c}) EXPECT_EQ(State(j), JobState::kRunning) << j;
  Accuracy(c, 1, 0.59);  // a resent epoch replaces the earlier value: now worse
  EXPECT_EQ(State(c), JobState::kStopped);
}

TEST_F(EarlyStoppingTest, AJobAnotherSweepNeedsIsNeverStopped) {
  const SubmitSweepResult watched = Submit(Spec("w", {1, 2, 4}, {0}, kMedian));
  Submit(Spec("plain", {4}, {0}, nullptr));  // shares the lc_rate 4 job
  const int64_t a = watched.jobs[0].job_id, b = watched.jobs[1].job_id,
                c = watched.jobs[2].job_id;
  EXPECT_EQ(coord_->GetJob(c)->sweep_ids.size(), 2u);
  LeaseJobs({a, b, c});
  Accuracy(a, 0, 0.8);
  Accuracy(b, 0, 0.7);
  Accuracy(c, 0, 0.1);
  EXPECT_EQ(State(c), JobState::kRunning);
}

TEST_F(EarlyStoppingTest, TheSeedsRuleStopsTheRestOfAnArmWorseThanTheBest) {
  const nlohmann::json policy = {{"rule", "seeds"}, {"min_seeds", 2}, {"alpha", 0.05}};
  const SubmitSweepResult s = Submit(Spec("seeds", {1, 2}, {0, 1, 2, 3}, policy));
  // Expansion order: the lc_rate 1 jobs (seeds 0..3), then lc_rate 2.
  ASSERT_EQ(s.jobs.size(), 8u);
  std::vector<int64_t> good, bad;
  for (int i = 0; i < 4; ++i) good.push_back(s.jobs[i].job_id);
  for (int i = 4; i < 8; ++i) bad.push_back(s.jobs[i].job_id);
  LeaseJobs({good[0], good[1], good[2], good[3], bad[0], bad[1]});
  const double good_acc[] = {0.90, 0.91}, bad_acc[] = {0.50, 0.52};
  for (int i = 0; i < 2; ++i) {
    Accuracy(good[i], 3, good_acc[i]);
    ASSERT_TRUE(coord_->CompleteJob(tokens_.at(good[i]), "{}").ok());
  }
  Accuracy(bad[0], 3, bad_acc[0]);
  ASSERT_TRUE(coord_->CompleteJob(tokens_.at(bad[0]), "{}").ok());
  EXPECT_EQ(State(bad[2]), JobState::kQueued) << "one seed of the arm is not enough";
  Accuracy(bad[1], 3, bad_acc[1]);
  ASSERT_TRUE(coord_->CompleteJob(tokens_.at(bad[1]), "{}").ok());
  // Paired by seed: differences -0.40, -0.39; t = -79 with 1 df, one-sided
  // p = 0.004 < 0.05 / 4 seeds.
  EXPECT_EQ(State(bad[2]), JobState::kStopped);
  EXPECT_EQ(State(bad[3]), JobState::kStopped);
  for (int64_t g : {good[2], good[3]}) EXPECT_EQ(State(g), JobState::kRunning);
  ListEventsRequest er;
  er.job_id = bad[3];
  EXPECT_THAT(coord_->ListEvents(er)->back().reason, HasSubstr("seeds rule: test.accuracy"));
  EXPECT_THAT(coord_->ListEvents(er)->back().reason, HasSubstr("paired t-test"));
}

TEST_F(EarlyStoppingTest, TheSeedsRuleLeavesArmsTheTestCannotTellApart) {
  const nlohmann::json policy = {{"rule", "seeds"}, {"min_seeds", 2}};
  const SubmitSweepResult s = Submit(Spec("tie", {1, 2}, {0, 1, 2}, policy));
  const int64_t g0 = s.jobs[0].job_id, g1 = s.jobs[1].job_id;
  const int64_t b0 = s.jobs[3].job_id, b1 = s.jobs[4].job_id, b2 = s.jobs[5].job_id;
  LeaseJobs({g0, g1, b0, b1});
  const std::pair<int64_t, double> done[] = {{g0, 0.80}, {g1, 0.70}, {b0, 0.78}, {b1, 0.69}};
  for (const auto& [job, acc] : done) {
    Accuracy(job, 3, acc);
    ASSERT_TRUE(coord_->CompleteJob(tokens_.at(job), "{}").ok());
  }
  EXPECT_EQ(State(b2), JobState::kQueued);
}

TEST_F(EarlyStoppingTest, TheSeriesSurviveARestart) {
  TempDir dir;
  auto opened = SqliteStore::Open(dir.File("es.db"));
  ASSERT_TRUE(opened.ok());
  std::unique_ptr<SqliteStore> store = std::move(opened).value();
  Start(store.get());
  const SubmitSweepResult s = Submit(Spec("r", {1, 2, 4}, {0}, kMedian));
  const int64_t a = s.jobs[0].job_id, b = s.jobs[1].job_id, c = s.jobs[2].job_id;
  LeaseJobs({a, b, c});
  Accuracy(a, 0, 0.8);
  Accuracy(b, 0, 0.7);
  const std::string token_c = tokens_.at(c);
  Start(store.get());  // a new coordinator on the same file
  tokens_[c] = token_c;
  Accuracy(c, 0, 0.5);
  EXPECT_EQ(State(c), JobState::kStopped) << "a and b's values were read back from the store";
  coord_.reset();
}

TEST(EarlyStoppingSpecTest, ErrorsNameTheirPaths) {
  const nlohmann::json doc = {
      {"name", "x"},
      {"grid", {{"model.conv.lc_rate", {1, 2}}}},
      {"early_stopping",
       {{"rule", "mean"}, {"metric", "test.acc"}, {"grace_epochs", -1}, {"alpha", 0.9},
        {"min_seed", 2}}}};
  SweepParseResult r = ParseSweepWithErrors(doc);
  ASSERT_FALSE(r.sweep.has_value());
  std::string all;
  for (const FieldError& e : r.errors) all += e.ToString() + "\n";
  EXPECT_THAT(all, HasSubstr(R"(early_stopping.rule: found "mean")"));
  EXPECT_THAT(all, HasSubstr(R"(early_stopping.metric: found "test.acc")"));
  EXPECT_THAT(all, HasSubstr("early_stopping.grace_epochs: found -1"));
  EXPECT_THAT(all, HasSubstr("early_stopping.alpha: found 0.9"));
  EXPECT_THAT(all, HasSubstr(R"(did you mean "min_seeds"?)"));

  nlohmann::json ok = doc;
  ok["early_stopping"] = {{"rule", "median"}, {"mode", "min"}, {"metric", "test.loss"}};
  SweepParseResult good = ParseSweepWithErrors(ok);
  ASSERT_TRUE(good.sweep.has_value());
  ASSERT_TRUE(good.sweep->early_stopping.has_value());
  EXPECT_FALSE(good.sweep->early_stopping->maximize);
  EXPECT_EQ(good.sweep->early_stopping->metric, "test.loss");
}

}  // namespace
}  // namespace lcsweep
