// Fault suite, crash points: the coordinator dies like kill -9 (the test-only
// hook --fault-crash-after METHOD:N: _exit right after the Nth committed
// METHOD, before its reply) at a series of distinct points of submit, lease,
// heartbeat, metric report, checkpoint upload and completion, and is
// restarted on the same database each time (with the next crash point armed)
// while two workers run an 8-job sweep.
//
// After every crash the database passes PRAGMA integrity_check. The submit
// whose reply was lost is retried with the same request_id and yields one
// sweep (replayed); reports whose replies were lost are resent by the workers
// with the same seq and stored once; a completion whose reply was lost is not
// repeated. At the end every job succeeded once, each live series holds every
// step once, no report is stored twice, and the results equal uninterrupted
// runs.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/fault_checks.h"

namespace lcsweep::testing {
namespace {

using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr int kJobs = 8;
constexpr int kEpochs = 6;  // long enough that every crash point is reached on an idle machine too
constexpr int kTrainSize = 1024;  // 16 steps per epoch

// The crash points, in the order they are armed (after SubmitSweep:1, which
// the test's own submit hits). Counted per coordinator process. Completions
// come late, when enough jobs are left to run into them.
const std::vector<std::string> kWorkerCrashPoints = {
    "LeaseJob:1",         "ReportMetrics:2", "Heartbeat:3", "UploadCheckpoint:1",
    "ReportMetrics:5",    "CompleteJob:1",   "LeaseJob:2",  "UploadCheckpoint:2",
    "Heartbeat:1",        "ReportMetrics:1", "CompleteJob:1"};

TEST(FaultCrashPoints, CoordinatorKilledAtElevenCommitPointsLosesAndDuplicatesNothing) {
  const auto t0 = Clock::now();
  LocalCluster cluster(ClusterOptions{/*lease_seconds=*/3, {}, ""});
  FaultTally tally{"crash_points"};
  int crashes = 0;
  // Waits for the armed crash, checks it and the database, restarts the
  // coordinator with `next` armed ("" = none).
  auto expect_crash_and_restart = [&](const std::string& point, const std::string& next) {
    const auto code = cluster.coordinator().Wait(seconds(1));
    ASSERT_TRUE(code.has_value()) << "armed " << point << " but the coordinator is still running";
    EXPECT_EQ(*code, 137) << cluster.coordinator().Stderr();
    const std::string method = point.substr(0, point.find(':'));
    EXPECT_NE(cluster.coordinator().Stderr().find("fault: crashing after committed " + method),
              std::string::npos)
        << cluster.coordinator().Stderr();
    ++crashes;
    EXPECT_EQ(IntegrityCheck(cluster.db_path()), "ok") << "after the crash at " << point;
    std::cout << "[crash] t=" << std::chrono::duration<double>(Clock::now() - t0).count()
              << "s crashed after " << point << "; restarting"
              << (next.empty() ? "" : " with " + next + " armed") << "\n"
              << std::flush;
    ASSERT_TRUE(cluster.StartCoordinator(
        next.empty() ? std::vector<std::string>{} : std::vector<std::string>{"--fault-crash-after", next}));
  };

  // 1. A submit committed whose reply was lost: the client's retry with the
  // same request_id gets that sweep back.
  cluster.KillCoordinator(SIGTERM);
  ASSERT_TRUE(cluster.StartCoordinator({"--fault-crash-after", "SubmitSweep:1"}));
  const nlohmann::json spec =
      TinySweep("crash", kEpochs, kTrainSize, {{"model.conv.lc_rate", {1, 2}}}, {1, 2, 3, 4});
  const std::string request_id = "crash-points-submit-1";
  v1::SubmitSweepResponse first;
  const grpc::Status lost = cluster.Submit(spec, &first, request_id);
  EXPECT_FALSE(lost.ok()) << "the crash hook did not fire on SubmitSweep";
  expect_crash_and_restart("SubmitSweep:1", kWorkerCrashPoints[0]);
  v1::SubmitSweepResponse submitted;
  const grpc::Status retried = cluster.Submit(spec, &submitted, request_id);
  ASSERT_TRUE(retried.ok()) << retried.error_message();
  EXPECT_TRUE(submitted.replayed()) << "the retried submit made a new sweep";
  ASSERT_EQ(submitted.jobs_size(), kJobs);
  tally.acknowledged += 1;
  const int64_t sweeps = CountSweeps(cluster);
  EXPECT_EQ(sweeps, 1);
  if (sweeps > 1) tally.duplicated += sweeps - 1;
  if (sweeps < 1) tally.lost += 1;

  // 2. The workers run into the rest of the crash points.
  cluster.StartWorker("w0");
  cluster.StartWorker("w1");
  auto all_final = [&] {
    auto jobs = cluster.Jobs(submitted.sweep_id());
    if (static_cast<int>(jobs.size()) != kJobs) return false;
    for (const auto& j : jobs) {
      if (!IsFinal(j.state())) return false;
    }
    return true;
  };
  size_t armed = 0;  // index into kWorkerCrashPoints
  const auto deadline = Clock::now() + std::chrono::minutes(4);
  while (true) {
    ASSERT_LT(Clock::now(), deadline) << "the sweep did not finish in 4 minutes; "
                                      << crashes << " crashes so far";
    if (armed < kWorkerCrashPoints.size() && !cluster.coordinator().running()) {
      const std::string next = armed + 1 < kWorkerCrashPoints.size() ? kWorkerCrashPoints[armed + 1] : "";
      expect_crash_and_restart(kWorkerCrashPoints[armed], next);
      ++armed;
      continue;
    }
    if (all_final()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(armed, kWorkerCrashPoints.size())
      << "the sweep finished before crash point " << (armed < kWorkerCrashPoints.size() ? kWorkerCrashPoints[armed] : "");
  EXPECT_EQ(crashes, 1 + static_cast<int>(kWorkerCrashPoints.size()));

  SweepShape shape;
  shape.jobs = kJobs;
  shape.epochs = kEpochs;
  shape.train_size = kTrainSize;
  CheckSweep(cluster, submitted.sweep_id(), shape, &tally);
  EXPECT_EQ(CountSweeps(cluster), 1);
  KillCoordinatorAndCheckIntegrity(cluster);
  std::cout << "[crash] " << crashes << " crash points in "
            << std::chrono::duration<double>(Clock::now() - t0).count() << " s\n";
  tally.Print();
  KeepLogs(cluster, "crash_points");
}


// A large submission is written in chunks (--submit-chunk-jobs); a crash
// between two of them leaves an incomplete sweep on disk, which the next
// start rolls back: the submission happened not at all, and the client's
// retry with the same request_id creates it once.
TEST(FaultCrashPoints, CoordinatorKilledBetweenSubmitChunksRollsTheSubmissionBack) {
  LocalCluster cluster(ClusterOptions{/*lease_seconds=*/3, {}, ""});
  cluster.KillCoordinator(SIGTERM);
  ASSERT_TRUE(cluster.StartCoordinator(
      {"--submit-chunk-jobs", "2", "--fault-crash-after", "SubmitSweepChunk:2"}));
  const nlohmann::json spec =
      TinySweep("chunks", kEpochs, kTrainSize, {{"model.conv.lc_rate", {1, 2}}}, {1, 2, 3, 4});
  const std::string request_id = "crash-between-chunks-1";
  v1::SubmitSweepResponse lost_reply;
  EXPECT_FALSE(cluster.Submit(spec, &lost_reply, request_id).ok());
  const auto code = cluster.coordinator().Wait(seconds(5));
  ASSERT_TRUE(code.has_value()) << "the coordinator did not crash between the chunks";
  EXPECT_EQ(*code, 137) << cluster.coordinator().Stderr();
  EXPECT_NE(cluster.coordinator().Stderr().find("fault: crashing after committed SubmitSweepChunk"),
            std::string::npos)
      << cluster.coordinator().Stderr();
  EXPECT_EQ(IntegrityCheck(cluster.db_path()), "ok");

  ASSERT_TRUE(cluster.StartCoordinator({"--submit-chunk-jobs", "2"}));
  EXPECT_NE(cluster.coordinator().Stderr().find("incomplete_submission_rolled_back"),
            std::string::npos)
      << cluster.coordinator().Stderr();
  EXPECT_EQ(CountSweeps(cluster), 0) << "half a submission is visible after the restart";
  v1::SubmitSweepResponse submitted;
  const grpc::Status retried = cluster.Submit(spec, &submitted, request_id);
  ASSERT_TRUE(retried.ok()) << retried.error_message();
  EXPECT_FALSE(submitted.replayed()) << "a rolled-back submission came back as a replay";
  EXPECT_EQ(submitted.jobs_size(), kJobs);
  EXPECT_EQ(static_cast<int>(cluster.Jobs(submitted.sweep_id()).size()), kJobs);
  EXPECT_EQ(CountSweeps(cluster), 1);
  KillCoordinatorAndCheckIntegrity(cluster);
}

}  // namespace
}  // namespace lcsweep::testing
