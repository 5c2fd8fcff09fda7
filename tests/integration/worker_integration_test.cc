// End-to-end tests of issue 6: real lcsweep-coordinator and lcsweep-worker
// processes on loopback, real SQLite, real LibTorch training of tiny models on
// synthetic data. Kills, drains, coordinator restarts, cancels, and a job
// whose data set is missing.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <set>
#include <thread>

#include "tests/integration/local_cluster.h"

namespace lcsweep::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

double Figure(const nlohmann::json& result, const char* section, const char* key) {
  return result.at(section).at(key).get<double>();
}

int64_t SubmitOne(LocalCluster& cluster, const nlohmann::json& spec) {
  v1::SubmitSweepResponse resp;
  grpc::Status status = cluster.Submit(spec, &resp);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_GE(resp.jobs_size(), 1);
  return resp.jobs_size() ? resp.jobs(0).job_id() : 0;
}

// Epoch-level series of the job: epochs seen, in order, for test.accuracy.
std::vector<int64_t> EpochsOf(const std::vector<v1::MetricPoint>& points, int attempt) {
  std::vector<int64_t> epochs;
  for (const auto& p : points) {
    if (attempt == 0 || p.attempt() == attempt) epochs.push_back(p.epoch());
  }
  return epochs;
}

TEST(WorkerIntegration, SixJobsOverTwoWorkersAllSucceedWithTheirMetrics) {
  LocalCluster cluster;
  v1::SubmitSweepResponse resp;
  ASSERT_TRUE(cluster.Submit(TinySweep("six", 2, 256, {{"model.conv.lc_rate", {1, 2, 4}}}, {0, 1}), &resp).ok());
  ASSERT_EQ(resp.jobs_size(), 6);
  cluster.StartWorker("a");
  cluster.StartWorker("b");
  const int64_t sweep = resp.sweep_id();
  ASSERT_TRUE(LocalCluster::WaitUntil([&] {
    auto jobs = cluster.Jobs(sweep);
    int done = 0;
    for (const auto& j : jobs) done += j.state() == v1::JOB_STATE_SUCCEEDED;
    return done == 6;
  }, seconds(240))) << cluster.worker("a").Stderr();
  std::set<int64_t> workers_used;
  for (const auto& job : cluster.Jobs(sweep)) {
    workers_used.insert(job.worker_id());
    const nlohmann::json result = nlohmann::json::parse(job.result_json());
    EXPECT_GT(Figure(result, "final", "test_accuracy"), 0.0);
    const auto metrics = cluster.Metrics(job.id());
    ASSERT_TRUE(metrics.count("test.accuracy")) << "job " << job.id();
    EXPECT_EQ(EpochsOf(metrics.at("test.accuracy"), 0), (std::vector<int64_t>{0, 1}));
    EXPECT_TRUE(metrics.count("train.step_loss"));
  }
  EXPECT_EQ(workers_used.size(), 2u) << "both workers should have taken jobs";
}

TEST(WorkerIntegration, KilledWorkersJobResumesElsewhereWithTheUninterruptedResult) {
  LocalCluster cluster(ClusterOptions{/*lease_seconds=*/3, {}, ""});
  const nlohmann::json spec = SlowSweep("kill", 5, {}, {3});
  const int64_t job_id = SubmitOne(cluster, spec);
  ChildProcess& a = cluster.StartWorker("a");
  // Wait for a stored checkpoint (epoch >= 2) while the job still runs.
  ASSERT_TRUE(LocalCluster::WaitUntil([&] { return cluster.CheckpointEpoch(job_id) >= 2; },
                                      seconds(180))) << a.Stderr();
  a.Signal(SIGKILL);
  a.Wait(seconds(10));
  const auto killed_at = Clock::now();
  cluster.StartWorker("b");
  bool restarted = LocalCluster::WaitUntil([&] {
    v1::Job j = cluster.GetJob(job_id);
    return j.state() == v1::JOB_STATE_RUNNING && j.attempt() == 2;
  }, seconds(60));
  ASSERT_TRUE(restarted);
  const double recovery_s = std::chrono::duration<double>(Clock::now() - killed_at).count();
  std::cout << "[measure] worker death -> job running again: " << recovery_s
            << " s (lease 3 s)\n";
  ASSERT_TRUE(LocalCluster::WaitUntil([&] { return IsFinal(cluster.GetJob(job_id).state()); }, seconds(120)));
  const v1::Job job = cluster.GetJob(job_id);
  ASSERT_EQ(job.state(), v1::JOB_STATE_SUCCEEDED) << job.error();
  const nlohmann::json resumed = nlohmann::json::parse(job.result_json());
  EXPECT_TRUE(resumed.contains("resumed_from") && resumed["resumed_from"].is_string())
      << "the second attempt must resume from the uploaded checkpoint";
  const nlohmann::json fresh = RunStandalone(job.config_json(), cluster.dir());
  ASSERT_FALSE(fresh.empty());
  // Bitwise: same thread count, CPU, deterministic loader and filters.
  EXPECT_EQ(Figure(resumed, "final", "test_accuracy"), Figure(fresh, "final", "test_accuracy"));
  EXPECT_EQ(Figure(resumed, "final", "test_loss"), Figure(fresh, "final", "test_loss"));
  EXPECT_EQ(Figure(resumed, "final", "train_loss"), Figure(fresh, "final", "train_loss"));
  // The final attempt reports each remaining epoch once.
  const auto epochs = EpochsOf(cluster.Metrics(job_id).at("test.accuracy"), 2);
  std::set<int64_t> unique(epochs.begin(), epochs.end());
  EXPECT_EQ(unique.size(), epochs.size()) << "an epoch was reported twice by the final attempt";
  ASSERT_FALSE(unique.empty());
  EXPECT_GE(*unique.begin(), 2) << "the final attempt re-ran epochs it had a checkpoint for";
  EXPECT_EQ(*unique.rbegin(), 4);
}

TEST(WorkerIntegration, SigtermDrainsReleasesAtOnceAndKeepsTheAttempt) {
  LocalCluster cluster(ClusterOptions{/*lease_seconds=*/30, {}, ""});
  const int64_t job_id = SubmitOne(cluster, SlowSweep("drain", 4, {}, {4}));
  ChildProcess& a = cluster.StartWorker("a");
  ASSERT_TRUE(LocalCluster::WaitUntil([&] { return cluster.CheckpointEpoch(job_id) >= 1; },
                                      seconds(180))) << a.Stderr();
  a.Signal(SIGTERM);
  const auto signalled = Clock::now();
  auto code = a.Wait(seconds(60));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << a.Stderr();
  // Released, not expired: back in the queue long before the 30 s lease ends.
  v1::Job queued = cluster.GetJob(job_id);
  EXPECT_EQ(queued.state(), v1::JOB_STATE_QUEUED);
  EXPECT_EQ(queued.attempt(), 1);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - signalled).count(), 25.0);
  cluster.StartWorker("b");
  ASSERT_TRUE(LocalCluster::WaitUntil([&] { return IsFinal(cluster.GetJob(job_id).state()); }, seconds(120)));
  const v1::Job done = cluster.GetJob(job_id);
  EXPECT_EQ(done.state(), v1::JOB_STATE_SUCCEEDED) << done.error();
  EXPECT_EQ(done.attempt(), 1);
  const nlohmann::json result = nlohmann::json::parse(done.result_json());
  EXPECT_TRUE(result.contains("resumed_from") && !result["resumed_from"].is_null())
      << "the second worker should resume from the drain checkpoint";
}

TEST(WorkerIntegration, CoordinatorKillAndRestartLosesNothing) {
  LocalCluster cluster(ClusterOptions{/*lease_seconds=*/10, {}, ""});
  v1::SubmitSweepResponse resp;
  ASSERT_TRUE(cluster.Submit(SlowSweep("restart", 3, {{"model.conv.lc_rate", {1, 2}}}, {0}), &resp).ok());
  const int64_t sweep = resp.sweep_id();
  cluster.StartWorker("a");
  cluster.StartWorker("b");
  ASSERT_TRUE(LocalCluster::WaitUntil([&] {
    for (const auto& j : cluster.Jobs(sweep)) {
      if (j.state() == v1::JOB_STATE_RUNNING && cluster.CheckpointEpoch(j.id()) >= 1) return true;
    }
    return false;
  }, seconds(180)));
  cluster.KillCoordinator(SIGKILL);
  std::this_thread::sleep_for(milliseconds(1500));
  cluster.StartCoordinator();
  ASSERT_TRUE(LocalCluster::WaitUntil([&] {
    auto jobs = cluster.Jobs(sweep);
    if (jobs.size() != 2) return false;
    for (const auto& j : jobs) {
      if (j.state() != v1::JOB_STATE_SUCCEEDED) return false;
    }
    return true;
  }, seconds(180))) << cluster.worker("a").Stderr();
  for (const auto& j : cluster.Jobs(sweep)) {
    const auto metrics = cluster.Metrics(j.id());
    ASSERT_TRUE(metrics.count("test.accuracy"));
    std::set<int64_t> epochs;
    for (const auto& p : metrics.at("test.accuracy")) epochs.insert(p.epoch());
    EXPECT_EQ(epochs, (std::set<int64_t>{0, 1, 2})) << "job " << j.id();
  }
}

TEST(WorkerIntegration, CancelReachesTheWorkerWithinOneHeartbeat) {
  LocalCluster cluster(ClusterOptions{/*lease_seconds=*/4, {}, ""});  // heartbeat every 1 s
  const int64_t job_id = SubmitOne(cluster, SlowSweep("cancel", 20, {}, {5}));
  ChildProcess& a = cluster.StartWorker("a");
  ASSERT_TRUE(LocalCluster::WaitUntil([&] { return cluster.GetJob(job_id).state() == v1::JOB_STATE_RUNNING; }, seconds(60)));
  ASSERT_TRUE(cluster.Cancel(job_id).ok());
  const auto cancelled = Clock::now();
  // The worker learns it from the next heartbeat, or from the refusal of its
  // next metric report, whichever comes first.
  const std::string marker = "event=job_end job=" + std::to_string(job_id) + " end=";
  ASSERT_TRUE(a.WaitForOutput(marker, seconds(10))) << a.Stderr();
  const double seconds_to_stop = std::chrono::duration<double>(Clock::now() - cancelled).count();
  std::cout << "[measure] cancel -> worker stopped: " << seconds_to_stop << " s\n";
  EXPECT_LT(seconds_to_stop, 1.0 + 1.5) << "one heartbeat interval (1 s) plus one training step";
  EXPECT_EQ(cluster.GetJob(job_id).state(), v1::JOB_STATE_CANCELLED);
}

TEST(WorkerIntegration, MissingDataSetFailsOnceWithAClearNonRetryableError) {
  LocalCluster cluster;
  nlohmann::json spec = TinySweep("missing", 1, 256, {}, {0});
  spec["base"]["data"] = {{"name", "cifar10"}, {"root", cluster.dir() + "/no-such-cifar"}};
  const int64_t job_id = SubmitOne(cluster, spec);
  cluster.StartWorker("a");
  ASSERT_TRUE(LocalCluster::WaitUntil([&] { return IsFinal(cluster.GetJob(job_id).state()); }, seconds(60)));
  const v1::Job job = cluster.GetJob(job_id);
  EXPECT_EQ(job.state(), v1::JOB_STATE_FAILED);
  EXPECT_EQ(job.attempt(), 1) << "a missing data set must not be retried";
  EXPECT_FALSE(job.retryable());
  EXPECT_NE(job.error().find("no-such-cifar"), std::string::npos) << job.error();
}

}  // namespace
}  // namespace lcsweep::testing
