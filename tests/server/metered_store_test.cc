// MeteredStore under a real Coordinator (fake clock, in-memory store): each
// metric is checked against what the coordinator itself reports (ListJobs
// counts, job records, checkpoint sizes), after the lifecycle steps that
// should move it, and again after a restart (the counts start from Load()).
#include "server/metrics/metered_store.h"

#include <map>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "server/core/coordinator.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/memory_store.h"
#include "tests/server/test_specs.h"

namespace lcsweep {
namespace {

using ::lcsweep::testing::GridSpec;

constexpr int64_t kTtl = 10'000;

// "name{labels}" -> value, from the exposition text (comments skipped).
std::map<std::string, double> Scrape(const MetricsRegistry& r) {
  std::map<std::string, double> out;
  std::istringstream in(r.Expose());
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

class MeteredStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(); }

  void Start() {
    coord_.reset();
    registry_ = std::make_unique<MetricsRegistry>();
    metered_ = std::make_unique<MeteredStore>(&store_, registry_.get());
    CoordinatorOptions options;
    options.lease_ttl_ms = kTtl;
    options.heartbeat_interval_ms = kTtl / 4;
    options.keep_checkpoints = 1;
    auto c = Coordinator::Create(metered_.get(), &clock_, options);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    coord_ = std::move(c).value();
  }

  int64_t Submit(const std::string& spec) {
    SubmitSweepRequest r;
    r.spec_json = spec;
    auto res = coord_->SubmitSweep(r);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    return res.ok() ? res->sweep_id : 0;
  }

  int64_t Worker() {
    WorkerRecord w;
    w.name = "w";
    w.host = "h";
    w.devices.push_back({"cpu", "cpu", 0});
    return coord_->RegisterWorker(w)->worker_id;
  }

  Lease LeaseFor(int64_t worker) {
    LeaseRequest r;
    r.worker_id = worker;
    auto l = coord_->LeaseJob(r);
    EXPECT_TRUE(l.ok() && l->has_value());
    return l.ok() && l->has_value() ? **l : Lease{};
  }

  // The gauges lcsweep_jobs{state} and lcsweep_queue_depth{priority} must
  // equal what the coordinator lists.
  void ExpectJobGaugesMatchCoordinator() {
    const auto m = Scrape(*registry_);
    std::map<std::string, double> queued_by_priority;
    for (int s = 0; s < kNumJobStates; ++s) {
      ListJobsRequest r;
      r.states = {static_cast<JobState>(s)};
      r.page_size = 1000;
      auto jobs = coord_->ListJobs(r);
      ASSERT_TRUE(jobs.ok());
      const std::string name = JobStateName(static_cast<JobState>(s));
      EXPECT_EQ(m.at("lcsweep_jobs{state=\"" + name + "\"}"), jobs->total) << name;
      if (s == static_cast<int>(JobState::kQueued)) {
        for (const JobRecord& j : jobs->jobs) queued_by_priority[std::to_string(j.priority)] += 1;
      }
    }
    for (const auto& [key, value] : m) {
      if (key.rfind("lcsweep_queue_depth{", 0) != 0) continue;
      const std::string p = key.substr(key.find('"') + 1, key.rfind('"') - key.find('"') - 1);
      EXPECT_EQ(value, queued_by_priority[p]) << key;
      queued_by_priority.erase(p);
    }
    for (const auto& [p, n] : queued_by_priority) ADD_FAILURE() << "no queue gauge for priority " << p << " (" << n << ")";
  }

  double Metric(const std::string& key) { return Scrape(*registry_).at(key); }

  FakeClock clock_;
  MemoryStore store_;
  std::unique_ptr<MetricsRegistry> registry_;
  std::unique_ptr<MeteredStore> metered_;
  std::unique_ptr<Coordinator> coord_;
};

TEST_F(MeteredStoreTest, JobGaugesFollowEveryTransition) {
  Submit(GridSpec("high", {1, 2, 4}, {0}, /*priority=*/5));
  Submit(GridSpec("low", {8, 16}, {0}, /*priority=*/0));
  ExpectJobGaugesMatchCoordinator();
  EXPECT_EQ(Metric("lcsweep_queue_depth{priority=\"5\"}"), 3);
  EXPECT_EQ(Metric("lcsweep_queue_depth{priority=\"0\"}"), 2);

  const int64_t w = Worker();
  Lease a = LeaseFor(w);
  Lease b = LeaseFor(w);
  EXPECT_EQ(Metric("lcsweep_leases_granted_total"), 2);
  ExpectJobGaugesMatchCoordinator();
  ASSERT_TRUE(coord_->CompleteJob(a.token, "{\"acc\": 1}").ok());
  ASSERT_TRUE(coord_->FailJob(b.token, "boom", /*retryable=*/false).ok());
  ExpectJobGaugesMatchCoordinator();
  EXPECT_EQ(Metric("lcsweep_jobs{state=\"succeeded\"}"), 1);
  EXPECT_EQ(Metric("lcsweep_jobs{state=\"failed\"}"), 1);
  EXPECT_EQ(Metric("lcsweep_queue_depth{priority=\"5\"}"), 1);

  ASSERT_TRUE(coord_->RetryJob(b.job.id).ok());
  EXPECT_EQ(Metric("lcsweep_job_retries_total{kind=\"user\"}"), 1);
  EXPECT_EQ(Metric("lcsweep_job_retries_total{kind=\"automatic\"}"), 0);
  ExpectJobGaugesMatchCoordinator();

  // A restart counts from the stored state, not from zero.
  Start();
  ExpectJobGaugesMatchCoordinator();
  EXPECT_EQ(Metric("lcsweep_jobs{state=\"succeeded\"}"), 1);
}

TEST_F(MeteredStoreTest, RetriesAndLostLeasesAreCountedOncePerTransition) {
  Submit(GridSpec("s", {1, 2}, {0}));
  const int64_t w = Worker();
  Lease a = LeaseFor(w);
  ASSERT_TRUE(coord_->FailJob(a.token, "transient", /*retryable=*/true).ok());
  EXPECT_EQ(Metric("lcsweep_job_retries_total{kind=\"automatic\"}"), 1);
  EXPECT_EQ(Metric("lcsweep_leases_lost_total"), 0);

  Lease b = LeaseFor(w);
  Lease c = LeaseFor(w);
  ASSERT_TRUE(coord_->ReleaseJob(b.token, "drain").ok());  // a loss, same attempt: no retry
  EXPECT_EQ(Metric("lcsweep_leases_lost_total"), 1);
  EXPECT_EQ(Metric("lcsweep_job_retries_total{kind=\"automatic\"}"), 1);

  clock_.Advance(kTtl + 1);  // c's worker goes silent
  auto reaped = coord_->ReapExpiredLeases();
  ASSERT_TRUE(reaped.ok());
  ASSERT_EQ(reaped->size(), 1u);
  EXPECT_EQ(Metric("lcsweep_leases_lost_total"), 2);
  EXPECT_EQ(Metric("lcsweep_job_retries_total{kind=\"automatic\"}"), 2);
  EXPECT_EQ(Metric("lcsweep_leases_granted_total"), 3);
  EXPECT_EQ(coord_->GetJob(c.job.id)->attempt, 2);
  ExpectJobGaugesMatchCoordinator();
}

TEST_F(MeteredStoreTest, CommitLatencyErrorsPointsAndCheckpointBytes) {
  Submit(GridSpec("s", {1}, {0}));
  const double commits = Metric("lcsweep_store_commit_seconds_count");
  EXPECT_GE(commits, 1);
  const int64_t w = Worker();
  Lease a = LeaseFor(w);
  EXPECT_EQ(Metric("lcsweep_store_commit_seconds_count"), commits + 2);  // register, lease

  ASSERT_TRUE(coord_->ReportMetrics(a.token, {MetricPoint{0, 0, 1, 0, "loss", 1, 0},
                                              MetricPoint{0, 0, 1, 0, "acc", 0.5, 0}}, 1).ok());
  EXPECT_EQ(Metric("lcsweep_metric_points_ingested_total"), 2);

  CheckpointMeta m;
  m.step = 10;
  m.size_bytes = 1000;
  m.sha256 = std::string(64, 'a');
  m.path = "/x/1";
  ASSERT_TRUE(coord_->RecordCheckpoint(a.token, m).ok());
  m.step = 20;
  m.size_bytes = 300;
  m.path = "/x/2";
  auto second = coord_->RecordCheckpoint(a.token, m);  // prunes the first (keep 1)
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->pruned.size(), 1u);
  EXPECT_EQ(Metric("lcsweep_checkpoint_bytes"), 300);
  EXPECT_EQ(Metric("lcsweep_checkpoint_bytes_recorded_total"), 1300);

  store_.FailCommits(1, ResourceExhaustedError("disk full"));
  EXPECT_FALSE(coord_->ReportMetrics(a.token, {MetricPoint{0, 0, 2, 0, "loss", 1, 0}}, 2).ok());
  EXPECT_EQ(Metric("lcsweep_store_commit_errors_total"), 1);
  EXPECT_EQ(Metric("lcsweep_metric_points_ingested_total"), 2);  // nothing was stored

  Start();  // the kept bytes come back from Load()
  EXPECT_EQ(Metric("lcsweep_checkpoint_bytes"), 300);
}

}  // namespace
}  // namespace lcsweep
