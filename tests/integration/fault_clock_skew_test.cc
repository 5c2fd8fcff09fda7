// Fault suite, clock skew: two workers whose wall clocks are 10 minutes off
// the coordinator's, one ahead and one behind (libfaketime preloaded,
// FAKETIME="+10m" / "-10m"; their monotonic clocks are left alone, as NTP
// would), run a 4-job sweep with 3 s leases. Leases run on the coordinator's
// clock only, so nothing changes: no lease expires, every job runs once in
// one attempt, the series are complete, and the results equal uninterrupted
// runs. That the skew was real is checked on the workers' own timestamps
// (metric points carry the worker's time_ms).
//
// Skipped, with the reason, when libfaketime is not installed (Debian
// package faketime; deploy/install-deps.sh installs it).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <iostream>

#include "tests/integration/fault_checks.h"

namespace lcsweep::testing {
namespace {

constexpr const char* kFaketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
constexpr int kJobs = 4;
constexpr int kEpochs = 3;
constexpr int kTrainSize = 1024;
constexpr int64_t kSkewMs = 10 * 60 * 1000;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

WorkerLaunch Skewed(const std::string& offset) {
  WorkerLaunch w;
  w.env = {std::string("LD_PRELOAD=") + kFaketime, "FAKETIME=" + offset,
           "FAKETIME_DONT_FAKE_MONOTONIC=1"};
  return w;
}

TEST(FaultClockSkew, WorkersTenMinutesOffChangeNothing) {
  if (!std::filesystem::exists(kFaketime)) {
    GTEST_SKIP() << kFaketime << " is missing: install the Debian package faketime "
                 << "(deploy/install-deps.sh does)";
  }
  LocalCluster cluster(ClusterOptions{/*lease_seconds=*/3, {}, ""});
  const nlohmann::json spec =
      TinySweep("skew", kEpochs, kTrainSize, {{"model.conv.lc_rate", {1, 2}}}, {1, 2});
  v1::SubmitSweepResponse submitted;
  ASSERT_TRUE(cluster.Submit(spec, &submitted).ok());
  ASSERT_EQ(submitted.jobs_size(), kJobs);
  const int64_t started_ms = NowMs();
  cluster.StartWorker("ahead", Skewed("+10m"));
  cluster.StartWorker("behind", Skewed("-10m"));

  ASSERT_TRUE(LocalCluster::WaitUntil(
      [&] {
        auto jobs = cluster.Jobs(submitted.sweep_id());
        if (static_cast<int>(jobs.size()) != kJobs) return false;
        for (const auto& j : jobs) {
          if (!IsFinal(j.state())) return false;
        }
        return true;
      },
      std::chrono::minutes(3)))
      << "the sweep did not finish";
  const int64_t finished_ms = NowMs();

  FaultTally tally{"clock_skew"};
  SweepShape shape;
  shape.jobs = kJobs;
  shape.epochs = kEpochs;
  shape.train_size = kTrainSize;
  const std::vector<v1::Job> jobs = CheckSweep(cluster, submitted.sweep_id(), shape, &tally);

  int ahead = 0, behind = 0;
  for (const v1::Job& job : jobs) {
    // One lease, one attempt: no lease expired on a skewed clock.
    EXPECT_EQ(job.attempt(), 1) << "job " << job.id();
    EXPECT_EQ(job.losses(), 0) << "job " << job.id() << " lost a lease";
    int leases = 0;
    for (const auto& e : cluster.Events(job.id())) {
      leases += e.to_state() == v1::JOB_STATE_RUNNING;
      // The coordinator's own times are on its clock.
      EXPECT_GE(e.time_ms(), started_ms - 60'000) << "job " << job.id() << " event " << e.reason();
      EXPECT_LE(e.time_ms(), finished_ms + 1'000) << "job " << job.id() << " event " << e.reason();
    }
    EXPECT_EQ(leases, 1) << "job " << job.id() << " was leased " << leases << " times";
    EXPECT_GE(job.finished_at_ms(), started_ms);
    EXPECT_LE(job.finished_at_ms(), finished_ms + 1'000);
    // The worker's clock was really off: its points carry its time.
    const auto live = cluster.Metrics(job.id());
    ASSERT_TRUE(live.count("train.step_loss"));
    const int64_t t = live.at("train.step_loss").front().time_ms();
    if (t > finished_ms + kSkewMs / 2) ++ahead;
    else if (t < started_ms - kSkewMs / 2) ++behind;
    else ADD_FAILURE() << "job " << job.id() << ": point time " << t
                       << " is not 10 minutes off; libfaketime had no effect";
  }
  EXPECT_GE(ahead, 1) << "no job ran on the worker 10 minutes ahead";
  EXPECT_GE(behind, 1) << "no job ran on the worker 10 minutes behind";
  std::cout << "[skew] jobs on the +10m worker " << ahead << ", on the -10m worker " << behind << "\n";
  KillCoordinatorAndCheckIntegrity(cluster);
  tally.Print();
  KeepLogs(cluster, "clock_skew");
}

}  // namespace
}  // namespace lcsweep::testing
