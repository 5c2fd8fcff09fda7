// Fault suite, lossy network: three workers reach the coordinator only
// through a loopback TCP proxy (tcp_proxy.h) that delays every chunk by
// 0-15 ms, resets most connections after a random few KiB (mid-stream:
// mid-call, mid-frame) and holds others half-open and silent for 2 s before
// resetting them. The faults last until the sweep is mostly done, then the
// network heals. The 6-job sweep must complete with nothing lost or
// duplicated: every job succeeded once, every logged step once in its live
// series, no report stored twice, results equal to uninterrupted runs.
//
// The proxy's seed is printed; LCSWEEP_FAULT_SEED=N replays the plan.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <random>

#include "tests/integration/fault_checks.h"
#include "tests/integration/tcp_proxy.h"

namespace lcsweep::testing {
namespace {

constexpr int kJobs = 6;
constexpr int kEpochs = 3;
constexpr int kTrainSize = 1024;

uint64_t Seed() {
  if (const char* env = std::getenv("LCSWEEP_FAULT_SEED"); env != nullptr && *env != '\0') {
    return std::strtoull(env, nullptr, 10);
  }
  return std::random_device{}();
}

TEST(FaultLossyNetwork, SweepCompletesThroughCutDelayedAndHalfOpenConnections) {
  const uint64_t seed = Seed();
  std::cout << "[lossy] seed " << seed << " (replay with LCSWEEP_FAULT_SEED=" << seed << ")\n";
  LocalCluster cluster(ClusterOptions{/*lease_seconds=*/4, {}, ""});
  const nlohmann::json spec =
      TinySweep("lossy", kEpochs, kTrainSize, {{"model.conv.lc_rate", {1, 2, 4}}}, {1, 2});
  v1::SubmitSweepResponse submitted;
  ASSERT_TRUE(cluster.Submit(spec, &submitted).ok());
  ASSERT_EQ(submitted.jobs_size(), kJobs);

  ProxyFaults faults;
  faults.min_latency = std::chrono::milliseconds(0);
  faults.max_latency = std::chrono::milliseconds(15);
  faults.cut_probability = 0.6;
  faults.hold_probability = 0.25;
  faults.min_bytes_before_fault = 2 * 1024;
  faults.max_bytes_before_fault = 96 * 1024;
  faults.hold_for = std::chrono::milliseconds(2000);
  const int coordinator_port = std::stoi(cluster.address().substr(cluster.address().rfind(':') + 1));
  TcpProxy proxy(coordinator_port, faults, seed);
  WorkerLaunch through_proxy;
  through_proxy.coordinator_address = proxy.address();
  for (int i = 0; i < 3; ++i) cluster.StartWorker("w" + std::to_string(i), through_proxy);

  auto succeeded = [&] {
    int n = 0;
    for (const auto& j : cluster.Jobs(submitted.sweep_id())) n += j.state() == v1::JOB_STATE_SUCCEEDED;
    return n;
  };
  auto all_final = [&] {
    auto jobs = cluster.Jobs(submitted.sweep_id());
    if (static_cast<int>(jobs.size()) != kJobs) return false;
    for (const auto& j : jobs) {
      if (!IsFinal(j.state())) return false;
    }
    return true;
  };
  // Faults until two thirds of the jobs are done, then a healed network
  // (latency only): the suite must end, and recovery from the faults is
  // part of what is tested.
  const bool faulty_phase_done =
      LocalCluster::WaitUntil([&] { return succeeded() >= 2 * kJobs / 3; }, std::chrono::minutes(3));
  const ProxyStats during = proxy.stats();
  ProxyFaults healed;
  healed.max_latency = faults.max_latency;
  proxy.set_faults(healed);
  std::cout << "[lossy] faulty phase: " << during.connections << " connections, " << during.cut
            << " cut, " << during.held << " held half-open, " << during.bytes << " bytes\n";
  ASSERT_TRUE(faulty_phase_done) << "only " << succeeded() << " jobs succeeded in 3 minutes of faults";
  EXPECT_GE(during.cut, 3) << "too few connections were cut to test anything";
  EXPECT_GE(during.held, 1) << "no connection was held half-open";
  ASSERT_TRUE(LocalCluster::WaitUntil(all_final, std::chrono::minutes(2))) << "the sweep did not finish";

  FaultTally tally{"lossy_network"};
  SweepShape shape;
  shape.jobs = kJobs;
  shape.epochs = kEpochs;
  shape.train_size = kTrainSize;
  CheckSweep(cluster, submitted.sweep_id(), shape, &tally);
  KillCoordinatorAndCheckIntegrity(cluster);
  tally.Print();
  KeepLogs(cluster, "lossy_network");
}

}  // namespace
}  // namespace lcsweep::testing
