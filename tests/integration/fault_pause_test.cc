// Fault suite, pause: a worker is stopped (SIGSTOP) mid-job for longer than
// its lease, the coordinator requeues the job, another worker leases it and
// resumes it from its checkpoint; then the paused worker is continued
// (SIGCONT) while the new attempt runs. Its late writes (the metric points it
// had buffered and those it measures before it notices, its heartbeat, its
// checkpoint upload) must all be refused: not one point of its attempt is
// stored after the continue, it logs the lost lease, and the job completes
// once with the result of an uninterrupted run.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <iostream>

#include "tests/integration/fault_checks.h"

namespace lcsweep::testing {
namespace {

using std::chrono::seconds;

constexpr int kEpochs = 6;
constexpr int kTrainSize = 2048;  // 32 steps per epoch

int64_t WorkerId(LocalCluster& cluster, const std::string& name) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(5));
  v1::ListWorkersRequest req;
  req.set_include_dead(true);
  v1::ListWorkersResponse resp;
  if (!cluster.stub().ListWorkers(&ctx, req, &resp).ok()) return 0;
  for (const auto& w : resp.workers()) {
    if (w.name() == name) return w.id();
  }
  return 0;
}

int64_t StoredPointsOfAttempt(LocalCluster& cluster, int64_t job_id, int attempt) {
  int64_t n = 0;
  for (const auto& [name, points] : cluster.Metrics(job_id, /*include_superseded=*/true)) {
    for (const auto& p : points) n += p.attempt() == attempt;
  }
  return n;
}

TEST(FaultPause, WorkerStoppedPastItsLeaseHasItsLateWritesRefused) {
  LocalCluster cluster(ClusterOptions{/*lease_seconds=*/2, {}, ""});
  const nlohmann::json spec = TinySweep("pause", kEpochs, kTrainSize, {}, {7});
  v1::SubmitSweepResponse submitted;
  ASSERT_TRUE(cluster.Submit(spec, &submitted).ok());
  ASSERT_EQ(submitted.jobs_size(), 1);
  const int64_t job_id = submitted.jobs(0).job_id();

  ChildProcess& paused = cluster.StartWorker("paused");
  ASSERT_TRUE(LocalCluster::WaitUntil([&] { return cluster.CheckpointEpoch(job_id) >= 0; },
                                      std::chrono::minutes(2)))
      << "the first worker stored no checkpoint";
  const v1::Job before = cluster.GetJob(job_id);
  ASSERT_EQ(before.state(), v1::JOB_STATE_RUNNING);
  const int paused_attempt = before.attempt();
  paused.Signal(SIGSTOP);
  std::cout << "[pause] SIGSTOP worker 'paused' at attempt " << paused_attempt << ", epoch "
            << cluster.CheckpointEpoch(job_id) << " checkpointed\n";

  // The lease expires (2 s), the job is requeued, the second worker takes it.
  cluster.StartWorker("successor");
  bool taken_over = LocalCluster::WaitUntil(
      [&] {
        const v1::Job j = cluster.GetJob(job_id);
        const int64_t successor = WorkerId(cluster, "successor");
        return successor != 0 && j.state() == v1::JOB_STATE_RUNNING && j.worker_id() == successor;
      },
      std::chrono::minutes(1));
  if (!taken_over) paused.Signal(SIGCONT);
  ASSERT_TRUE(taken_over) << "the job was not re-leased to the second worker";
  const v1::Job during = cluster.GetJob(job_id);
  EXPECT_GT(during.attempt(), paused_attempt);
  EXPECT_EQ(during.failures(), 0) << "a pause is a loss of the worker, not a failure of the job";
  EXPECT_GE(during.losses(), 1);

  // Continue the paused worker while the new attempt is still running.
  const int64_t stored_before_continue = StoredPointsOfAttempt(cluster, job_id, paused_attempt);
  paused.Signal(SIGCONT);
  std::cout << "[pause] SIGCONT while attempt " << during.attempt() << " runs; attempt "
            << paused_attempt << " has " << stored_before_continue << " stored points\n";
  EXPECT_TRUE(paused.WaitForOutput("event=lease_lost", seconds(30)).has_value())
      << "the continued worker did not learn that its lease moved on:\n"
      << paused.Stderr();

  ASSERT_TRUE(LocalCluster::WaitUntil([&] { return IsFinal(cluster.GetJob(job_id).state()); },
                                      std::chrono::minutes(3)));
  const int64_t stored_after = StoredPointsOfAttempt(cluster, job_id, paused_attempt);
  EXPECT_EQ(stored_after, stored_before_continue)
      << "the paused worker's late metric reports were stored";
  EXPECT_TRUE(paused.running()) << "the continued worker died:\n" << paused.Stderr();

  FaultTally tally{"pause"};
  SweepShape shape;
  shape.jobs = 1;
  shape.epochs = kEpochs;
  shape.train_size = kTrainSize;
  const std::vector<v1::Job> jobs = CheckSweep(cluster, submitted.sweep_id(), shape, &tally);
  ASSERT_EQ(jobs.size(), 1u);
  // The job resumed from the stolen attempt's checkpoint, not from scratch.
  const nlohmann::json result = nlohmann::json::parse(jobs[0].result_json());
  EXPECT_TRUE(result.contains("resumed_from") && result["resumed_from"].is_string()) << result.dump();
  const int64_t refused = stored_after - stored_before_continue;
  tally.duplicated += refused;  // a stale attempt's point stored = a second copy of a step
  KillCoordinatorAndCheckIntegrity(cluster);
  tally.Print();
  KeepLogs(cluster, "pause");
}

}  // namespace
}  // namespace lcsweep::testing
