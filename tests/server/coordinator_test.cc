// (Long: the Coordinator facade has one case per contract line of
// coordinator.h; the transitions themselves are job_lifecycle_test.cc.)
// Unit tests of the Coordinator's job lifecycle with a fake clock and an
// in-memory store: leases, fencing, expiry, attempts, cancel, release,
// dedupe, priorities, fair share, device matching, watching.
#include "server/core/coordinator.h"

#include <atomic>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/fakes/fake_clock.h"
#include "tests/fakes/memory_store.h"
#include "tests/server/test_specs.h"

namespace lcsweep {
namespace {

using ::lcsweep::testing::GridSpec;
using ::testing::HasSubstr;

constexpr int64_t kTtl = 10'000;

class CoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CoordinatorOptions options;
    options.lease_ttl_ms = kTtl;
    options.heartbeat_interval_ms = kTtl / 4;
    options.keep_checkpoints = 2;
    auto c = Coordinator::Create(&store_, &clock_, options);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    coord_ = std::move(c).value();
  }

  SubmitSweepResult Submit(const std::string& spec, bool force = false,
                           std::optional<int> priority = std::nullopt) {
    SubmitSweepRequest r;
    r.spec_json = spec;
    r.force = force;
    r.priority = priority;
    auto res = coord_->SubmitSweep(r);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    return res.ok() ? *res : SubmitSweepResult{};
  }

  int64_t Worker(const std::string& name, bool cuda = false, double gpu_gb = 0) {
    WorkerRecord w;
    w.name = name;
    w.host = "host";
    w.devices.push_back({"cpu", "cpu", 0});
    if (cuda) w.devices.push_back({"cuda", "cuda:0", gpu_gb});
    auto r = coord_->RegisterWorker(w);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r->worker_id;
  }

  std::optional<Lease> LeaseFor(int64_t worker, bool cpu = true, bool cuda = false,
                                double gpu_gb = 0) {
    LeaseRequest r;
    r.worker_id = worker;
    r.has_cpu = cpu;
    r.has_cuda = cuda;
    r.free_gpu_memory_gb = gpu_gb;
    auto l = coord_->LeaseJob(r);
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    return l.ok() ? *l : std::nullopt;
  }

  JobRecord Job(int64_t id) {
    auto j = coord_->GetJob(id);
    EXPECT_TRUE(j.ok());
    return *j;
  }

  std::vector<Event> Events(int64_t job_id) {
    ListEventsRequest r;
    r.job_id = job_id;
    auto e = coord_->ListEvents(r);
    EXPECT_TRUE(e.ok());
    return *e;
  }

  FakeClock clock_;
  MemoryStore store_;
  std::unique_ptr<Coordinator> coord_;
};

TEST_F(CoordinatorTest, SubmitQueuesEveryExpandedJobWithAnEvent) {
  SubmitSweepResult r = Submit(GridSpec("s", {1, 2, 4}, {0, 1}));
  EXPECT_GT(r.sweep_id, 0);
  EXPECT_EQ(r.jobs_created, 6);
  EXPECT_EQ(r.jobs_reused, 0);
  ASSERT_EQ(r.jobs.size(), 6u);
  auto summary = coord_->GetSweep(r.sweep_id);
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->total_jobs, 6);
  EXPECT_EQ(summary->counts[static_cast<int>(JobState::kQueued)], 6);
  for (const SubmittedJob& sj : r.jobs) {
    JobRecord j = Job(sj.job_id);
    EXPECT_EQ(j.state, JobState::kQueued);
    EXPECT_EQ(j.attempt, 1);
    EXPECT_EQ(j.max_attempts, 3);
    EXPECT_EQ(j.sweep_ids, std::vector<int64_t>{r.sweep_id});
    EXPECT_EQ(j.hash.size(), 64u);
    auto events = Events(j.id);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].from_state, "");
    EXPECT_EQ(events[0].to_state, "queued");
  }
}

TEST_F(CoordinatorTest, MalformedSpecListsEveryFieldError) {
  SubmitSweepRequest r;
  r.spec_json = R"({"name": "bad", "grid": {"model.conv.lc_rate": [-2], "model.kernel_size": [4]}})";
  std::vector<FieldError> errors;
  auto res = coord_->SubmitSweep(r, &errors);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), StatusCode::kInvalidArgument);
  EXPECT_GE(errors.size(), 2u);
  EXPECT_THAT(res.status().message(), HasSubstr("lc_rate"));
  EXPECT_THAT(res.status().message(), HasSubstr("kernel_size"));
  EXPECT_TRUE(coord_->ListSweeps().empty());
}

TEST_F(CoordinatorTest, DryRunStoresNothing) {
  SubmitSweepRequest r;
  r.spec_json = GridSpec("s", {1, 2});
  r.dry_run = true;
  auto res = coord_->SubmitSweep(r);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->jobs_created, 2);
  EXPECT_EQ(res->sweep_id, 0);
  EXPECT_FALSE(res->jobs[0].config_json.empty());
  EXPECT_TRUE(coord_->ListSweeps().empty());
  EXPECT_EQ(store_.commits(), 0);
}

TEST_F(CoordinatorTest, LeaseCompleteSucceeds) {
  SubmitSweepResult r = Submit(GridSpec("s", {1}));
  int64_t w = Worker("w1");
  auto lease = LeaseFor(w);
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ(lease->job.id, r.jobs[0].job_id);
  EXPECT_EQ(lease->job.state, JobState::kRunning);
  EXPECT_EQ(lease->token.size(), 32u);
  EXPECT_EQ(lease->expiry_ms, clock_.NowMs() + kTtl);
  EXPECT_FALSE(LeaseFor(w).has_value()) << "only one job was queued";
  ASSERT_TRUE(coord_->CompleteJob(lease->token, R"({"test": {"accuracy": 0.5}})").ok());
  JobRecord j = Job(lease->job.id);
  EXPECT_EQ(j.state, JobState::kSucceeded);
  EXPECT_TRUE(j.lease_token.empty());
  auto events = Events(j.id);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1].to_state, "running");
  EXPECT_EQ(events[1].worker_id, w);
  EXPECT_EQ(events[2].to_state, "succeeded");
  // The store has the same state (written through).
  EXPECT_EQ(store_.stored_job(j.id).state, JobState::kSucceeded);
}

TEST_F(CoordinatorTest, CompleteRejectsNonObjectResultAndKeepsRunning) {
  Submit(GridSpec("s", {1}));
  auto lease = LeaseFor(Worker("w"));
  ASSERT_TRUE(lease.has_value());
  Status s = coord_->CompleteJob(lease->token, "[1, 2");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Job(lease->job.id).state, JobState::kRunning);
}

TEST_F(CoordinatorTest, UnknownWorkerCannotLease) {
  Submit(GridSpec("s", {1}));
  LeaseRequest r;
  r.worker_id = 99;
  auto l = coord_->LeaseJob(r);
  EXPECT_EQ(l.status().code(), StatusCode::kNotFound);
}

TEST_F(CoordinatorTest, ExpiredLeaseIsRequeuedAsANewAttemptAndOldTokenIsRefusedEverywhere) {
  Submit(GridSpec("s", {1}));
  int64_t w1 = Worker("w1"), w2 = Worker("w2");
  auto first = LeaseFor(w1);
  ASSERT_TRUE(first.has_value());
  clock_.Advance(kTtl - 1);
  auto reaped = coord_->ReapExpiredLeases();
  ASSERT_TRUE(reaped.ok());
  EXPECT_TRUE(reaped->empty()) << "not expired yet";
  clock_.Advance(2);
  reaped = coord_->ReapExpiredLeases();
  ASSERT_TRUE(reaped.ok());
  EXPECT_EQ(*reaped, std::vector<int64_t>{first->job.id});
  JobRecord j = Job(first->job.id);
  EXPECT_EQ(j.state, JobState::kQueued);
  EXPECT_EQ(j.attempt, 2);

  auto second = LeaseFor(w2);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->job.id, first->job.id);
  EXPECT_NE(second->token, first->token);
  EXPECT_EQ(second->job.attempt, 2);

  // The zombie (first worker) is fenced off on every call.
  const std::string& stale = first->token;
  HeartbeatRequest hb;
  hb.token = stale;
  EXPECT_EQ(coord_->Heartbeat(hb).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(coord_->ReportMetrics(stale, {MetricPoint{0, 0, 1, 0, "loss", 1.0, 0}}).code(),
            StatusCode::kFailedPrecondition);
  CheckpointMeta meta;
  meta.path = "/tmp/x";
  EXPECT_EQ(coord_->RecordCheckpoint(stale, meta).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(coord_->ValidateLease(stale).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(coord_->CompleteJob(stale, "{}").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(coord_->FailJob(stale, "x", true).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(coord_->ReleaseJob(stale, "x").code(), StatusCode::kFailedPrecondition);
  // ... and nothing it tried reached the job or the store.
  EXPECT_EQ(store_.metric_count(), 0u);
  EXPECT_EQ(Job(j.id).state, JobState::kRunning);
  EXPECT_EQ(Job(j.id).lease_owner, w2);
  // The live lease still works.
  hb.token = second->token;
  EXPECT_TRUE(coord_->Heartbeat(hb).ok());
  EXPECT_TRUE(coord_->CompleteJob(second->token, "{}").ok());
}

TEST_F(CoordinatorTest, UnknownTokenIsFailedPrecondition) {
  HeartbeatRequest hb;
  hb.token = "0123456789abcdef0123456789abcdef";
  EXPECT_EQ(coord_->Heartbeat(hb).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(coord_->CompleteJob(hb.token, "{}").code(), StatusCode::kFailedPrecondition);
}

TEST_F(CoordinatorTest, HeartbeatExtendsTheLeaseAndStoresProgress) {
  Submit(GridSpec("s", {1}));
  auto lease = LeaseFor(Worker("w"));
  ASSERT_TRUE(lease.has_value());
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(kTtl - 1000);
    HeartbeatRequest hb;
    hb.token = lease->token;
    hb.progress.epoch = i;
    hb.progress.step = 10 * i;
    hb.progress.metrics["train.loss"] = 1.0 / (i + 1);
    auto r = coord_->Heartbeat(hb);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_FALSE(r->cancel_requested);
    EXPECT_EQ(r->expiry_ms, clock_.NowMs() + kTtl);
    ASSERT_TRUE(coord_->ReapExpiredLeases().ok());
    EXPECT_EQ(Job(lease->job.id).state, JobState::kRunning);
  }
  JobRecord j = Job(lease->job.id);
  EXPECT_EQ(j.progress.epoch, 4);
  EXPECT_EQ(j.progress.step, 40);
  EXPECT_DOUBLE_EQ(j.progress.metrics["train.loss"], 0.2);
  EXPECT_EQ(store_.stored_job(j.id).progress.step, 40);
}

TEST_F(CoordinatorTest, RetryableFailuresEndInFailedAfterMaxAttempts) {
  Submit(GridSpec("s", {1}, {0}, 0, /*max_attempts=*/3));
  int64_t w = Worker("w");
  int64_t job_id = 0;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    auto lease = LeaseFor(w);
    ASSERT_TRUE(lease.has_value()) << "attempt " << attempt;
    EXPECT_EQ(lease->job.attempt, attempt);
    job_id = lease->job.id;
    auto after = coord_->FailJob(lease->token, "oom", /*retryable=*/true);
    ASSERT_TRUE(after.ok());
    EXPECT_EQ(after->state, attempt < 3 ? JobState::kQueued : JobState::kFailed);
  }
  EXPECT_FALSE(LeaseFor(w).has_value());
  JobRecord j = Job(job_id);
  EXPECT_EQ(j.state, JobState::kFailed);
  EXPECT_EQ(j.error, "oom");
  EXPECT_TRUE(j.retryable);
}

// A lost worker is not the job's fault: expiries spend the loss budget
// (max_lost_leases), not max_attempts, and a later real failure still has its
// whole failure budget.
TEST_F(CoordinatorTest, ExpiredLeasesSpendTheLossBudgetNotTheFailureBudget) {
  Submit(GridSpec("s", {1}, {0}, 0, /*max_attempts=*/2));
  int64_t w = Worker("w");
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(LeaseFor(w).has_value());
    clock_.Advance(kTtl + 1);
    ASSERT_TRUE(coord_->ReapExpiredLeases().ok());
  }
  auto jobs = coord_->ListJobs({});
  ASSERT_TRUE(jobs.ok());
  JobRecord j = jobs->jobs[0];
  EXPECT_EQ(j.state, JobState::kQueued) << "three losses with max_attempts 2 must not fail it";
  EXPECT_EQ(j.losses, 3);
  EXPECT_EQ(j.failures, 0);
  EXPECT_EQ(j.attempt, 4);
  EXPECT_EQ(j.max_attempts, 5);  // 2 + one per loss
  auto events = Events(j.id);
  EXPECT_THAT(events.back().reason, HasSubstr("loss 3 of 20"));
  // Two real failures still end it (its failure budget is whole).
  for (int i = 0; i < 2; ++i) {
    auto lease = LeaseFor(w);
    ASSERT_TRUE(lease.has_value());
    auto after = coord_->FailJob(lease->token, "nan loss", /*retryable=*/true);
    ASSERT_TRUE(after.ok());
    EXPECT_EQ(after->state, i == 0 ? JobState::kQueued : JobState::kFailed);
  }
  EXPECT_EQ(Job(j.id).failures, 2);
}

TEST_F(CoordinatorTest, ExpiredLeasesFailTheJobOnlyAfterMaxLostLeases) {
  CoordinatorOptions options = coord_->options();
  options.max_lost_leases = 3;
  coord_.reset();
  auto c = Coordinator::Create(&store_, &clock_, options);
  ASSERT_TRUE(c.ok());
  coord_ = std::move(c).value();
  Submit(GridSpec("s", {1}, {0}, 0, /*max_attempts=*/1));
  int64_t w = Worker("w");
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(LeaseFor(w).has_value()) << "loss " << i;
    clock_.Advance(kTtl + 1);
    ASSERT_TRUE(coord_->ReapExpiredLeases().ok());
  }
  auto jobs = coord_->ListJobs({});
  ASSERT_TRUE(jobs.ok());
  EXPECT_EQ(jobs->jobs[0].state, JobState::kFailed);
  EXPECT_EQ(jobs->jobs[0].losses, 3);
  EXPECT_THAT(jobs->jobs[0].error, HasSubstr("expired"));
  EXPECT_THAT(jobs->jobs[0].error, HasSubstr("no losses left"));
}

TEST_F(CoordinatorTest, NonRetryableFailureFailsAtOnce) {
  Submit(GridSpec("s", {1}));
  auto lease = LeaseFor(Worker("w"));
  ASSERT_TRUE(lease.has_value());
  auto after = coord_->FailJob(lease->token, "bad config", false);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->state, JobState::kFailed);
  EXPECT_EQ(after->attempt, 1);
}

TEST_F(CoordinatorTest, ReleaseRequeuesWithoutUsingAnAttempt) {
  Submit(GridSpec("s", {1}, {0}, 0, /*max_attempts=*/1));
  int64_t w = Worker("w");
  for (int i = 0; i < 3; ++i) {
    auto lease = LeaseFor(w);
    ASSERT_TRUE(lease.has_value());
    EXPECT_EQ(lease->job.attempt, 1);
    ASSERT_TRUE(coord_->ReleaseJob(lease->token, "drain").ok());
    JobRecord j = Job(lease->job.id);
    EXPECT_EQ(j.state, JobState::kQueued);
    EXPECT_EQ(j.attempt, 1);
    HeartbeatRequest hb;
    hb.token = lease->token;
    EXPECT_EQ(coord_->Heartbeat(hb).status().code(), StatusCode::kFailedPrecondition);
  }
}

TEST_F(CoordinatorTest, CancelQueuedJobIsNeverLeased) {
  SubmitSweepResult r = Submit(GridSpec("s", {1}));
  auto c = coord_->CancelJob(r.jobs[0].job_id, "not needed");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->state, JobState::kCancelled);
  EXPECT_FALSE(LeaseFor(Worker("w")).has_value());
  auto events = Events(r.jobs[0].job_id);
  EXPECT_EQ(events.back().from_state, "queued");
  EXPECT_EQ(events.back().to_state, "cancelled");
  EXPECT_THAT(events.back().reason, HasSubstr("not needed"));
}

TEST_F(CoordinatorTest, CancelRunningJobIsToldOnNextHeartbeat) {
  Submit(GridSpec("s", {1}));
  auto lease = LeaseFor(Worker("w"));
  ASSERT_TRUE(lease.has_value());
  auto c = coord_->CancelJob(lease->job.id, "");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->state, JobState::kCancelled);
  // Reports and completion are refused right away ...
  EXPECT_EQ(coord_->CompleteJob(lease->token, "{}").code(), StatusCode::kFailedPrecondition);
  // ... the heartbeat says why, once ...
  HeartbeatRequest hb;
  hb.token = lease->token;
  auto r = coord_->Heartbeat(hb);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->cancel_requested);
  // ... and then the token is dead.
  EXPECT_EQ(coord_->Heartbeat(hb).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Job(lease->job.id).state, JobState::kCancelled);
  // Cancelling a finished job is a no-op.
  auto again = coord_->CancelJob(lease->job.id, "");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->state, JobState::kCancelled);
}

TEST_F(CoordinatorTest, RetryRequeuesFailedAndCancelledWithAFreshBudget) {
  SubmitSweepResult r = Submit(GridSpec("s", {1, 2}, {0}, 0, /*max_attempts=*/1));
  int64_t w = Worker("w");
  auto lease = LeaseFor(w);
  ASSERT_TRUE(lease.has_value());
  ASSERT_TRUE(coord_->FailJob(lease->token, "x", true).ok());
  EXPECT_EQ(Job(lease->job.id).state, JobState::kFailed);
  auto retried = coord_->RetryJob(lease->job.id);
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(retried->state, JobState::kQueued);
  EXPECT_EQ(retried->attempt, 2);
  EXPECT_EQ(retried->max_attempts, 2);
  EXPECT_EQ(coord_->RetryJob(lease->job.id).status().code(), StatusCode::kFailedPrecondition);

  int64_t other = r.jobs[0].job_id == lease->job.id ? r.jobs[1].job_id : r.jobs[0].job_id;
  ASSERT_TRUE(coord_->CancelJob(other, "").ok());
  auto retried2 = coord_->RetryJob(other);
  ASSERT_TRUE(retried2.ok());
  EXPECT_EQ(retried2->state, JobState::kQueued);
}

TEST_F(CoordinatorTest, DedupeAcrossSweepsReusesJobsAndResults) {
  SubmitSweepResult a = Submit(GridSpec("a", {1, 2}));
  int64_t w = Worker("w");
  // Finish lc_rate 1.
  auto lease = LeaseFor(w);
  ASSERT_TRUE(lease.has_value());
  ASSERT_TRUE(coord_->CompleteJob(lease->token, R"({"test": {"accuracy": 0.75}})").ok());

  SubmitSweepResult b = Submit(GridSpec("b", {1, 2, 4}));
  EXPECT_NE(a.sweep_id, b.sweep_id);
  EXPECT_EQ(b.jobs_created, 1);
  EXPECT_EQ(b.jobs_reused, 2);
  std::map<int64_t, SubmittedJob> by_id;
  for (const auto& sj : b.jobs) by_id[sj.job_id] = sj;
  ASSERT_TRUE(by_id.count(lease->job.id));
  EXPECT_EQ(by_id[lease->job.id].outcome, SubmitOutcome::kReusedResult);
  EXPECT_THAT(by_id[lease->job.id].result_json, HasSubstr("0.75"));
  JobRecord shared = Job(lease->job.id);
  EXPECT_EQ(shared.sweep_ids, (std::vector<int64_t>{a.sweep_id, b.sweep_id}));
  auto sb = coord_->GetSweep(b.sweep_id);
  EXPECT_EQ(sb->total_jobs, 3);
  EXPECT_EQ(sb->counts[static_cast<int>(JobState::kSucceeded)], 1);

  // force: a new job next to the succeeded one; the old one keeps its result.
  SubmitSweepResult c = Submit(GridSpec("c", {1}), /*force=*/true);
  ASSERT_EQ(c.jobs.size(), 1u);
  EXPECT_EQ(c.jobs[0].outcome, SubmitOutcome::kForced);
  EXPECT_NE(c.jobs[0].job_id, lease->job.id);
  EXPECT_EQ(Job(c.jobs[0].job_id).hash, shared.hash);
  EXPECT_EQ(Job(lease->job.id).state, JobState::kSucceeded);
  // A later plain submission reuses the newest job with that hash.
  SubmitSweepResult d = Submit(GridSpec("d", {1}));
  EXPECT_EQ(d.jobs[0].job_id, c.jobs[0].job_id);
  EXPECT_EQ(d.jobs[0].outcome, SubmitOutcome::kReused);
}

TEST_F(CoordinatorTest, ResubmittingAFailedJobRequeuesIt) {
  SubmitSweepResult a = Submit(GridSpec("a", {1}, {0}, 0, 1));
  auto lease = LeaseFor(Worker("w"));
  ASSERT_TRUE(coord_->FailJob(lease->token, "x", false).ok());
  SubmitSweepResult b = Submit(GridSpec("b", {1}));
  EXPECT_EQ(b.jobs[0].job_id, a.jobs[0].job_id);
  EXPECT_EQ(b.jobs[0].outcome, SubmitOutcome::kRequeued);
  EXPECT_EQ(Job(a.jobs[0].job_id).state, JobState::kQueued);
}

TEST_F(CoordinatorTest, HigherPriorityFirstThenFifo) {
  SubmitSweepResult low = Submit(GridSpec("low", {1, 2}, {0}, /*priority=*/0));
  SubmitSweepResult high = Submit(GridSpec("high", {4, 8}, {0}, /*priority=*/5));
  SubmitSweepResult over = Submit(GridSpec("over", {16}, {0}, 0), false, /*priority=*/9);
  int64_t w = Worker("w");
  std::vector<int64_t> order;
  while (auto l = LeaseFor(w)) {
    order.push_back(l->job.id);
    ASSERT_TRUE(coord_->CompleteJob(l->token, "{}").ok());  // keeps fair share out of it
  }
  std::vector<int64_t> expected = {over.jobs[0].job_id, high.jobs[0].job_id, high.jobs[1].job_id,
                                   low.jobs[0].job_id, low.jobs[1].job_id};
  EXPECT_EQ(order, expected);
}

TEST_F(CoordinatorTest, FairShareBetweenSweepsOfEqualPriority) {
  SubmitSweepResult a = Submit(GridSpec("a", {1, 2, 4, 8}));
  SubmitSweepResult b = Submit(GridSpec("b", {16, 32, 64, 128}));
  std::set<int64_t> in_a, in_b;
  for (auto& j : a.jobs) in_a.insert(j.job_id);
  for (auto& j : b.jobs) in_b.insert(j.job_id);
  int64_t w = Worker("w");
  // Jobs stay running: leases alternate between the sweeps although all of
  // a's jobs are older (FIFO alone would give a, a, a, a).
  std::vector<char> which;
  for (int i = 0; i < 6; ++i) {
    auto l = LeaseFor(w);
    ASSERT_TRUE(l.has_value());
    which.push_back(in_a.count(l->job.id) ? 'a' : 'b');
  }
  EXPECT_EQ(std::string(which.begin(), which.end()), "ababab");
}

TEST_F(CoordinatorTest, DeviceAndGpuMemoryMatching) {
  nlohmann::json gpu_base = {{"resources", {{"device", "cuda"}, {"min_gpu_memory_gb", 16}}}};
  nlohmann::json cpu_base = {{"resources", {{"device", "cpu"}}}};
  SubmitSweepResult gpu = Submit(GridSpec("gpu", {1}, {0}, /*priority=*/5, 3, gpu_base));
  SubmitSweepResult cpu = Submit(GridSpec("cpu", {2}, {0}, 0, 3, cpu_base));
  int64_t w = Worker("w", true, 80);
  // A CPU-only worker skips the (higher priority) cuda job.
  auto l1 = LeaseFor(w, /*cpu=*/true, /*cuda=*/false);
  ASSERT_TRUE(l1.has_value());
  EXPECT_EQ(l1->job.id, cpu.jobs[0].job_id);
  // Too little free GPU memory: nothing.
  EXPECT_FALSE(LeaseFor(w, false, true, 8).has_value());
  auto l2 = LeaseFor(w, false, true, 24);
  ASSERT_TRUE(l2.has_value());
  EXPECT_EQ(l2->job.id, gpu.jobs[0].job_id);
  EXPECT_EQ(l2->job.requirements.device, "cuda");
  EXPECT_DOUBLE_EQ(l2->job.requirements.min_gpu_memory_gb, 16);
}

TEST_F(CoordinatorTest, LeasesWithinOneHeartbeatIntervalCannotOverCommitReportedMemory) {
  nlohmann::json gpu_base = {{"resources", {{"device", "cuda"}, {"min_gpu_memory_gb", 12}}}};
  SubmitSweepResult gpu = Submit(GridSpec("gpu", {1, 2, 4}, {0}, 0, 3, gpu_base));
  WorkerRecord w;
  w.name = "packed";
  w.host = "host";
  w.devices.push_back({"cuda", "cuda:0", 80, /*free_memory_gb=*/20});
  auto reg = coord_->RegisterWorker(w);
  ASSERT_TRUE(reg.ok());
  LeaseRequest r;
  r.worker_id = reg->worker_id;
  r.has_cpu = false;
  r.has_cuda = true;
  r.free_gpu_memory_gb = 80;  // the worker's own offer is generous
  r.device = "cuda:0";
  auto first = coord_->LeaseJob(r);
  ASSERT_TRUE(first.ok() && first->has_value());
  // 20 GB reported, 12 leased since: 8 left, not enough for another 12.
  auto second = coord_->LeaseJob(r);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->has_value());
  // An unnamed device is matched on the offer alone (workers before the ledger).
  LeaseRequest unnamed = r;
  unnamed.device = "";
  unnamed.free_gpu_memory_gb = 8;
  EXPECT_FALSE(coord_->LeaseJob(unnamed)->has_value());
  // A heartbeat measuring 21 GB free replaces the report and what was leased.
  HeartbeatRequest hb;
  hb.token = (*first)->token;
  hb.devices.push_back({"cuda", "cuda:0", 80, 21});
  ASSERT_TRUE(coord_->Heartbeat(hb).ok());
  auto third = coord_->LeaseJob(r);
  ASSERT_TRUE(third.ok() && third->has_value());
  EXPECT_FALSE(coord_->LeaseJob(r)->has_value()) << "21 - 12 = 9 left";
  // The worker list shows the reported free memory.
  bool seen = false;
  for (const WorkerRecord& listed : coord_->ListWorkers(false)) {
    if (listed.id != reg->worker_id) continue;
    seen = true;
    EXPECT_DOUBLE_EQ(listed.devices[0].free_memory_gb, 21);
  }
  EXPECT_TRUE(seen);
  EXPECT_EQ(gpu.jobs.size(), 3u);
}

TEST_F(CoordinatorTest, OutOfMemoryRaisesTheEstimateAndCostsOneAttemptAtMostOnce) {
  nlohmann::json gpu_base = {{"resources", {{"device", "cuda"}, {"min_gpu_memory_gb", 2}}}};
  SubmitSweepResult gpu = Submit(GridSpec("gpu", {1}, {0}, 0, 3, gpu_base));
  const int64_t job_id = gpu.jobs[0].job_id;
  int64_t w = Worker("w", true, 80);
  auto l1 = LeaseFor(w, false, true, 40);
  ASSERT_TRUE(l1.has_value());
  ASSERT_TRUE(coord_->ReleaseJob(l1->token, "CUDA out of memory", ReleaseKind::kOutOfMemory, 6).ok());
  JobRecord j = Job(job_id);
  EXPECT_EQ(j.state, JobState::kQueued);
  EXPECT_EQ(j.attempt, 2) << "the first out-of-memory release costs an attempt";
  EXPECT_EQ(j.failures, 1);
  EXPECT_DOUBLE_EQ(j.requirements.memory_estimate_gb, 6);
  EXPECT_THAT(Events(job_id).back().reason, HasSubstr("ran out of memory"));
  // The raised estimate is what the next lease must offer.
  EXPECT_FALSE(LeaseFor(w, false, true, 5).has_value());
  auto l2 = LeaseFor(w, false, true, 9);
  ASSERT_TRUE(l2.has_value());
  ASSERT_TRUE(coord_->ReleaseJob(l2->token, "again", ReleaseKind::kOutOfMemory, 9).ok());
  j = Job(job_id);
  EXPECT_EQ(j.attempt, 2) << "a second out-of-memory release is a loss, not a failure";
  EXPECT_EQ(j.failures, 1);
  EXPECT_EQ(j.losses, 1);
  EXPECT_DOUBLE_EQ(j.requirements.memory_estimate_gb, 9);
  // Does-not-fit never lowers the estimate and costs no attempt.
  auto l3 = LeaseFor(w, false, true, 12);
  ASSERT_TRUE(l3.has_value());
  ASSERT_TRUE(coord_->ReleaseJob(l3->token, "too big here", ReleaseKind::kDoesNotFit, 3).ok());
  j = Job(job_id);
  EXPECT_EQ(j.attempt, 2);
  EXPECT_DOUBLE_EQ(j.requirements.memory_estimate_gb, 9);
  // A drain keeps it as well.
  auto l4 = LeaseFor(w, false, true, 12);
  ASSERT_TRUE(l4.has_value());
  EXPECT_DOUBLE_EQ(l4->job.requirements.memory_estimate_gb, 9);
}

TEST(DeviceLedgerTest, ReportsResetWhatWasLeasedAndUnknownDevicesHaveNoBound) {
  DeviceLedger ledger;
  EXPECT_FALSE(ledger.Available(1, "cuda:0").has_value());
  ledger.Report(1, "cuda:0", 40);
  ledger.Report(1, "cuda:1", 10);
  ledger.Report(2, "cuda:0", 5);
  ledger.Leased(1, "cuda:0", 15);
  ledger.Leased(1, "cuda:0", 15);
  EXPECT_DOUBLE_EQ(*ledger.Available(1, "cuda:0"), 10);
  ledger.Leased(1, "cuda:0", 15);
  EXPECT_DOUBLE_EQ(*ledger.Available(1, "cuda:0"), 0) << "never negative";
  ledger.Report(1, "cuda:0", 30);
  EXPECT_DOUBLE_EQ(*ledger.Available(1, "cuda:0"), 30);
  ledger.Report(1, "cuda:0", 0);  // unknown now
  EXPECT_FALSE(ledger.Available(1, "cuda:0").has_value());
  ledger.ForgetWorker(1);
  EXPECT_FALSE(ledger.Available(1, "cuda:1").has_value());
  EXPECT_DOUBLE_EQ(*ledger.Available(2, "cuda:0"), 5) << "another worker's devices stay";
}

TEST_F(CoordinatorTest, CancelSweepLeavesJobsSharedWithALiveSweep) {
  SubmitSweepResult a = Submit(GridSpec("a", {1, 2, 4}));
  SubmitSweepResult b = Submit(GridSpec("b", {4}));
  auto lease = LeaseFor(Worker("w"));  // lc_rate 1 (oldest)
  ASSERT_TRUE(lease.has_value());
  auto r = coord_->CancelSweep(a.sweep_id, "enough");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->cancelled, 1);          // lc_rate 2
  EXPECT_EQ(r->cancel_requested, 1);   // the running one
  EXPECT_EQ(r->skipped_shared, 1);     // lc_rate 4 is also in b
  EXPECT_EQ(Job(b.jobs[0].job_id).state, JobState::kQueued);
  EXPECT_GT(coord_->GetSweep(a.sweep_id)->sweep.cancelled_ms, 0);
}

TEST_F(CoordinatorTest, FailedCommitChangesNothing) {
  Submit(GridSpec("s", {1}));
  int64_t w = Worker("w");
  store_.FailCommits(1, ResourceExhaustedError("disk full"));
  auto l = coord_->LeaseJob({w, true, false, 0, ""});
  EXPECT_EQ(l.status().code(), StatusCode::kResourceExhausted);
  auto jobs = coord_->ListJobs({});
  EXPECT_EQ(jobs->jobs[0].state, JobState::kQueued);
  EXPECT_TRUE(jobs->jobs[0].lease_token.empty());
  // After the store recovers, the same call works.
  auto l2 = LeaseFor(w);
  ASSERT_TRUE(l2.has_value());
  store_.FailCommits(1, UnavailableError("locked"));
  EXPECT_EQ(coord_->CompleteJob(l2->token, "{}").code(), StatusCode::kUnavailable);
  EXPECT_EQ(Job(l2->job.id).state, JobState::kRunning);
  store_.FailCommits(1, ResourceExhaustedError("disk full"));
  EXPECT_EQ(coord_->ReportMetrics(l2->token, {MetricPoint{0, 0, 1, 0, "loss", 1, 0}}).code(),
            StatusCode::kResourceExhausted);
  EXPECT_EQ(store_.metric_count(), 0u);
  EXPECT_TRUE(coord_->CompleteJob(l2->token, "{}").ok());
}

TEST_F(CoordinatorTest, ListJobsFiltersAndPaginates) {
  SubmitSweepResult a = Submit(GridSpec("a", {1, 2, 4, 8, 16}));
  Submit(GridSpec("b", {32, 64}));
  ListJobsRequest r;
  r.sweep_id = a.sweep_id;
  r.page_size = 2;
  std::vector<int64_t> seen;
  for (int page = 0; page < 10; ++page) {
    auto res = coord_->ListJobs(r);
    ASSERT_TRUE(res.ok());
    EXPECT_EQ(res->total, 5);
    for (auto& j : res->jobs) seen.push_back(j.id);
    if (res->next_page_token.empty()) break;
    r.page_token = res->next_page_token;
  }
  std::vector<int64_t> expected;
  for (auto& j : a.jobs) expected.push_back(j.job_id);
  EXPECT_EQ(seen, expected);
  ListJobsRequest by_state;
  by_state.states = {JobState::kRunning};
  EXPECT_EQ(coord_->ListJobs(by_state)->total, 0);
  ListJobsRequest bad;
  bad.page_token = "xyz";
  EXPECT_EQ(coord_->ListJobs(bad).status().code(), StatusCode::kInvalidArgument);
  // Out-of-range page sizes are clamped (the proto's contract), not refused.
  bad.page_token = "";
  bad.page_size = 5000;
  auto clamped = coord_->ListJobs(bad);
  ASSERT_TRUE(clamped.ok()) << clamped.status().ToString();
  EXPECT_EQ(static_cast<int64_t>(clamped->jobs.size()), clamped->total);
  EXPECT_EQ(clamped->total, 7);
  bad.page_size = -3;
  ASSERT_TRUE(coord_->ListJobs(bad).ok());
}

TEST_F(CoordinatorTest, CheckpointsArePrunedAndOfferedOnTheNextLease) {
  Submit(GridSpec("s", {1}));
  int64_t w = Worker("w");
  auto lease = LeaseFor(w);
  ASSERT_TRUE(lease.has_value());
  EXPECT_FALSE(lease->checkpoint.has_value());
  std::vector<CheckpointMeta> pruned;
  for (int epoch = 1; epoch <= 4; ++epoch) {
    CheckpointMeta m;
    m.epoch = epoch;
    m.path = "/ckpt/" + std::to_string(epoch);
    m.sha256 = std::string(64, 'a');
    m.size_bytes = 100;
    auto r = coord_->RecordCheckpoint(lease->token, m);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->recorded.job_id, lease->job.id);
    pruned.insert(pruned.end(), r->pruned.begin(), r->pruned.end());
  }
  ASSERT_EQ(pruned.size(), 2u);  // keep_checkpoints = 2
  EXPECT_EQ(pruned[0].path, "/ckpt/1");
  EXPECT_EQ(pruned[1].path, "/ckpt/2");
  ASSERT_TRUE(coord_->ReleaseJob(lease->token, "drain").ok());
  auto again = LeaseFor(w);
  ASSERT_TRUE(again.has_value());
  ASSERT_TRUE(again->checkpoint.has_value());
  EXPECT_EQ(again->checkpoint->epoch, 4);
  EXPECT_EQ(again->checkpoint->path, "/ckpt/4");
}

TEST_F(CoordinatorTest, ConcurrentMetricReportsAreAllStored) {
  constexpr int kJobs = 8, kReports = 50, kPoints = 20;
  std::vector<int> rates;
  for (int i = 0; i < kJobs; ++i) rates.push_back(1 << i);
  Submit(GridSpec("s", rates));
  int64_t w = Worker("w");
  std::vector<Lease> leases;
  for (int i = 0; i < kJobs; ++i) leases.push_back(*LeaseFor(w));
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kJobs; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kReports; ++r) {
        std::vector<MetricPoint> pts;
        for (int p = 0; p < kPoints; ++p)
          pts.push_back(MetricPoint{0, 0, r * kPoints + p, 0, "loss", double(p), 0});
        if (!coord_->ReportMetrics(leases[t].token, pts).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store_.metric_count(), static_cast<size_t>(kJobs * kReports * kPoints));
  EXPECT_LE(store_.metric_commits(), kJobs * kReports);
  ListMetricsRequest q;
  q.job_id = leases[3].job.id;
  auto pts = coord_->ListMetrics(q);
  ASSERT_TRUE(pts.ok());
  ASSERT_EQ(pts->size(), static_cast<size_t>(kReports * kPoints));
  for (const auto& p : *pts) EXPECT_EQ(p.attempt, 1);
  EXPECT_DOUBLE_EQ(Job(leases[3].job.id).progress.metrics["loss"], kPoints - 1);
}

TEST_F(CoordinatorTest, TheFeedWakesWaitersWithEachCommittedChange) {
  SubmitSweepResult r = Submit(GridSpec("s", {1}));
  int64_t job_id = r.jobs[0].job_id;
  ChangeFeed& feed = coord_->feed();
  std::atomic<int> woken{0};
  const int sub = feed.Subscribe([&] { ++woken; });
  const uint64_t cursor = feed.Cursor();
  int64_t w = Worker("w");
  std::thread leaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    LeaseFor(w);
  });
  // Wait until the lease shows up (the worker's registration comes first).
  std::vector<JobState> states;
  uint64_t at = cursor;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (states.empty() && std::chrono::steady_clock::now() < deadline) {
    ChangeFeed::Batch b = feed.Wait(at, deadline);
    at = b.next_cursor;
    EXPECT_FALSE(b.lost);
    for (const auto& c : b.changes)
      if (c->kind == Change::Kind::kJob && c->id == job_id) states.push_back(c->state);
  }
  leaser.join();
  EXPECT_EQ(states, std::vector<JobState>{JobState::kRunning});
  EXPECT_GT(woken.load(), 0);
  // Nothing changes: the wait ends at its deadline with nothing.
  ChangeFeed::Batch quiet = feed.Wait(feed.Cursor(), std::chrono::steady_clock::now() +
                                                         std::chrono::milliseconds(20));
  EXPECT_TRUE(quiet.changes.empty());
  feed.Unsubscribe(sub);
  const int before = woken.load();
  Submit(GridSpec("t", {2}));
  EXPECT_EQ(woken.load(), before);  // unsubscribed: not called again
}

TEST_F(CoordinatorTest, ReRegisteringAWorkerKeepsItsId) {
  int64_t a = Worker("w1");
  int64_t b = Worker("w2");
  EXPECT_NE(a, b);
  EXPECT_EQ(Worker("w1"), a);
  Submit(GridSpec("s", {1}));
  auto l = LeaseFor(a);
  auto workers = coord_->ListWorkers();
  ASSERT_EQ(workers.size(), 2u);
  EXPECT_EQ(workers[0].current_jobs, std::vector<int64_t>{l->job.id});
  clock_.Advance(kTtl * 3);
  EXPECT_TRUE(coord_->ListWorkers(/*include_dead=*/false).empty());
}

TEST_F(CoordinatorTest, StateSurvivesAReloadFromTheStore) {
  SubmitSweepResult a = Submit(GridSpec("a", {1, 2}));
  int64_t w = Worker("w");
  auto l = LeaseFor(w);
  ASSERT_TRUE(l.has_value());
  coord_.reset();
  auto c = Coordinator::Create(&store_, &clock_, {});
  ASSERT_TRUE(c.ok());
  coord_ = std::move(c).value();
  // The lease survives the restart; the fencing token still works.
  HeartbeatRequest hb;
  hb.token = l->token;
  EXPECT_TRUE(coord_->Heartbeat(hb).ok());
  auto l2 = LeaseFor(w);
  ASSERT_TRUE(l2.has_value());
  EXPECT_NE(l2->job.id, l->job.id);
  // New ids do not collide with loaded ones.
  SubmitSweepResult b = Submit(GridSpec("b", {4}));
  EXPECT_GT(b.sweep_id, a.sweep_id);
  EXPECT_GT(b.jobs[0].job_id, l2->job.id);
}


TEST_F(CoordinatorTest, ListSweepsNewestFirstByTagWithPages) {
  Submit(GridSpec("a", {1}));
  Submit(GridSpec("b", {2}));
  Submit(GridSpec("c", {4}));
  ListSweepsRequest r;
  r.page_size = 2;
  auto p1 = coord_->ListSweeps(r);
  ASSERT_TRUE(p1.ok());
  ASSERT_EQ(p1->sweeps.size(), 2u);
  EXPECT_EQ(p1->sweeps[0].sweep.name, "c");
  EXPECT_EQ(p1->sweeps[1].sweep.name, "b");
  ASSERT_FALSE(p1->next_page_token.empty());
  r.page_token = p1->next_page_token;
  auto p2 = coord_->ListSweeps(r);
  ASSERT_EQ(p2->sweeps.size(), 1u);
  EXPECT_EQ(p2->sweeps[0].sweep.name, "a");
  EXPECT_TRUE(p2->next_page_token.empty());
  ListSweepsRequest tagged;
  tagged.tag = "nope";
  EXPECT_TRUE(coord_->ListSweeps(tagged)->sweeps.empty());
  tagged.tag = "test";
  EXPECT_EQ(coord_->ListSweeps(tagged)->sweeps.size(), 3u);
}

TEST_F(CoordinatorTest, EventsFilterBySweepAndResumeAfterACursor) {
  SubmitSweepResult a = Submit(GridSpec("a", {1, 2}));
  SubmitSweepResult b = Submit(GridSpec("b", {4}));
  auto lease = LeaseFor(Worker("w"));
  ASSERT_TRUE(lease.has_value());
  ListEventsRequest r;
  r.sweep_id = a.sweep_id;
  auto ea = coord_->ListEvents(r);
  ASSERT_TRUE(ea.ok());
  EXPECT_EQ(ea->size(), 3u);  // two submissions + one lease
  for (const Event& e : *ea) EXPECT_NE(e.job_id, b.jobs[0].job_id);
  r.after_id = (*ea)[1].id;
  auto rest = coord_->ListEvents(r);
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].to_state, "running");
  r.sweep_id = 999;
  EXPECT_EQ(coord_->ListEvents(r).status().code(), StatusCode::kNotFound);
  ListEventsRequest big;
  big.limit = 100000;  // clamped to the maximum, not refused
  auto all = coord_->ListEvents(big);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->size(), 4u);  // three events of sweep a, one of sweep b
}

TEST_F(CoordinatorTest, ResultsForExplicitJobs) {
  SubmitSweepResult a = Submit(GridSpec("a", {1}, {0, 1}));
  int64_t w = Worker("w");
  for (int i = 0; i < 2; ++i) {
    auto l = LeaseFor(w);
    ASSERT_TRUE(coord_->CompleteJob(l->token, nlohmann::json({{"acc", i}}).dump()).ok());
  }
  auto r = coord_->GetResultsForJobs({a.jobs[0].job_id, a.jobs[1].job_id});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->groups.size(), 1u);
  EXPECT_DOUBLE_EQ(r->groups[0].figures.at("acc").mean, 0.5);
  EXPECT_EQ(coord_->GetResultsForJobs({12345}).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace lcsweep

namespace lcsweep {
namespace {

// Metric lineage (coordinator.h): one point per epoch at the epoch's last
// step, as the worker reports test.accuracy.
std::vector<MetricPoint> EpochPoints(int first_epoch, int last_epoch, double offset) {
  std::vector<MetricPoint> v;
  for (int e = first_epoch; e <= last_epoch; ++e) {
    MetricPoint p;
    p.name = "test.accuracy";
    p.epoch = e;
    p.step = (e + 1) * 10;
    p.value = e + offset;
    v.push_back(p);
  }
  return v;
}

std::vector<MetricPoint> ListPoints(Coordinator* coord, int64_t job_id, bool all) {
  ListMetricsRequest r;
  r.job_id = job_id;
  r.include_superseded = all;
  auto points = coord->ListMetrics(r);
  EXPECT_TRUE(points.ok()) << points.status().ToString();
  return points.ok() ? *points : std::vector<MetricPoint>{};
}

TEST_F(CoordinatorTest, AKilledAttemptsPointsAfterTheResumeCheckpointAreSuperseded) {
  Submit(GridSpec("s", {1}));
  int64_t w1 = Worker("w1"), w2 = Worker("w2");
  auto first = LeaseFor(w1);
  ASSERT_TRUE(first.has_value());
  const int64_t job = first->job.id;
  // Epochs 0 and 1 done, their points stored, then the checkpoint at step 20
  // (metrics before checkpoints, as the worker does) ...
  ASSERT_TRUE(coord_->ReportMetrics(first->token, EpochPoints(0, 1, 0.1)).ok());
  CheckpointMeta meta;
  meta.epoch = 2;
  meta.step = 20;
  meta.path = "/ckpt/2";
  ASSERT_TRUE(coord_->RecordCheckpoint(first->token, meta).ok());
  // ... then epochs 2 and 3 reported, and the worker dies before the next
  // checkpoint (kill -9): its lease expires.
  ASSERT_TRUE(coord_->ReportMetrics(first->token, EpochPoints(2, 3, 0.1)).ok());
  clock_.Advance(kTtl + 1);
  ASSERT_TRUE(coord_->ReapExpiredLeases().ok());
  ASSERT_EQ(Job(job).attempt, 2);
  EXPECT_EQ(ListPoints(coord_.get(), job, false).size(), 4u) << "queued: nothing superseded yet";

  auto second = LeaseFor(w2);
  ASSERT_TRUE(second.has_value());
  ASSERT_TRUE(second->checkpoint.has_value());
  EXPECT_EQ(second->checkpoint->step, 20);
  // The live series keeps the epochs up to the checkpoint only.
  std::vector<MetricPoint> live = ListPoints(coord_.get(), job, false);
  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(live[0].epoch, 0);
  EXPECT_EQ(live[1].epoch, 1);
  for (const auto& p : live) EXPECT_FALSE(p.superseded);
  // Nothing was deleted.
  std::vector<MetricPoint> all = ListPoints(coord_.get(), job, true);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_FALSE(all[0].superseded);
  EXPECT_FALSE(all[1].superseded);
  EXPECT_TRUE(all[2].superseded);
  EXPECT_TRUE(all[3].superseded);
  EXPECT_EQ(all[2].attempt, 1);

  // The resumed attempt reports epochs 2 and 3 again: each epoch once.
  ASSERT_TRUE(coord_->ReportMetrics(second->token, EpochPoints(2, 3, 0.2)).ok());
  live = ListPoints(coord_.get(), job, false);
  ASSERT_EQ(live.size(), 4u);
  for (int e = 0; e < 4; ++e) {
    EXPECT_EQ(live[e].epoch, e);
    EXPECT_EQ(live[e].attempt, e < 2 ? 1 : 2);
    EXPECT_DOUBLE_EQ(live[e].value, e + (e < 2 ? 0.1 : 0.2));
  }
  EXPECT_EQ(ListPoints(coord_.get(), job, true).size(), 6u);
  // The attempt filter still works on the live view.
  ListMetricsRequest r;
  r.job_id = job;
  r.attempt = 1;
  EXPECT_EQ(coord_->ListMetrics(r)->size(), 2u);
  r.include_superseded = true;
  EXPECT_EQ(coord_->ListMetrics(r)->size(), 4u);
}

TEST_F(CoordinatorTest, ALeaseWithoutACheckpointSupersedesEveryEarlierPoint) {
  Submit(GridSpec("s", {1}));
  int64_t w = Worker("w");
  auto first = LeaseFor(w);
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(coord_->ReportMetrics(first->token, EpochPoints(0, 2, 0.1)).ok());
  ASSERT_TRUE(coord_->FailJob(first->token, "out of memory", /*retryable=*/true).ok());
  auto second = LeaseFor(w);
  ASSERT_TRUE(second.has_value());
  EXPECT_FALSE(second->checkpoint.has_value());
  EXPECT_TRUE(ListPoints(coord_.get(), first->job.id, false).empty());
  EXPECT_EQ(ListPoints(coord_.get(), first->job.id, true).size(), 3u);
}

TEST_F(CoordinatorTest, ADrainAtACheckpointSupersedesNothing) {
  // A drain checkpoints at the current step after the metrics before it were
  // stored: the next lease resumes there and every stored point stays live.
  Submit(GridSpec("s", {1}));
  int64_t w = Worker("w");
  auto first = LeaseFor(w);
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(coord_->ReportMetrics(first->token, EpochPoints(0, 1, 0.1)).ok());
  CheckpointMeta meta;
  meta.epoch = 2;
  meta.step = 20;
  meta.path = "/ckpt/drain";
  ASSERT_TRUE(coord_->RecordCheckpoint(first->token, meta).ok());
  ASSERT_TRUE(coord_->ReleaseJob(first->token, "worker drain").ok());
  auto second = LeaseFor(w);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->job.attempt, 1);
  EXPECT_EQ(ListPoints(coord_.get(), first->job.id, false).size(), 2u);
  for (const auto& p : ListPoints(coord_.get(), first->job.id, true)) EXPECT_FALSE(p.superseded);
}

}  // namespace
}  // namespace lcsweep
