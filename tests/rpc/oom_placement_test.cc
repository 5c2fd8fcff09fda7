// OOM-aware placement end to end, in one process but through every real
// part: SqliteStore (WAL) + Coordinator + RpcServer on loopback, the worker's
// Agent and JobSession over the real gRPC client, and a DevicePacker. Only
// the runner is a stand-in: it runs out of memory while the coordinator's
// estimate in its lease is below what the job "really" needs, so the test
// shows the estimate being raised across attempts until the job fits, and
// the job charged one attempt for it however often it ran out.
#include <gtest/gtest.h>

#include <thread>

#include "tests/rpc/rpc_test_util.h"
#include "worker/agent/agent.h"
#include "worker/rpc/grpc_coordinator_client.h"

namespace lcsweep::testing {
namespace {

using agent::GbToBytes;

class NeedsMemoryRunner : public agent::JobRunner {
 public:
  explicit NeedsMemoryRunner(double needs_gb) : needs_gb_(needs_gb) {}
  agent::JobRun Run(const agent::JobContext& context, agent::JobObserver*) override {
    estimates_seen.push_back(context.lease.memory_estimate_gb);
    agent::JobRun run;
    if (context.lease.memory_estimate_gb < needs_gb_) {
      run.outcome = agent::JobRun::Outcome::kFailed;
      run.error = "RESOURCE_EXHAUSTED: out of memory: CUDA out of memory. Tried to allocate 1.00 GiB (fake)";
      run.retryable = true;
      run.out_of_memory = true;
      return run;
    }
    run.outcome = agent::JobRun::Outcome::kSucceeded;
    run.result_json = R"({"final": {"test_accuracy": 0.5}})";
    return run;
  }
  StatusOr<int64_t> EstimateMemoryBytes(const agent::LeaseGrant&, const std::string&) override {
    return GbToBytes(1);  // the worker's own estimate is too small
  }
  std::vector<double> estimates_seen;

 private:
  double needs_gb_;
};

class SixteenGbGpu : public agent::DeviceProbe {
 public:
  StatusOr<agent::DeviceMemory> Probe(const std::string&) override {
    return agent::DeviceMemory{GbToBytes(16), GbToBytes(15), "fake"};
  }
};

TEST(OomPlacementTest, AnOutOfMemoryJobIsRetriedWithARaisedEstimateUntilItSucceeds) {
  TempDir dir;
  Stack stack(dir.path());
  SubmitSweepRequest submit;
  submit.spec_json = R"({"name": "oom", "base": {"data": {"name": "synthetic"}, "train": {"epochs": 1},
                          "resources": {"device": "cuda"}}, "grid": {"model.conv.lc_rate": [1]}, "seeds": [0]})";
  auto submitted = stack.coordinator()->SubmitSweep(submit);
  ASSERT_TRUE(submitted.ok()) << submitted.status().ToString();
  const int64_t job_id = submitted->jobs.at(0).job_id;

  agent::GrpcClientOptions client_options;
  client_options.target = stack.server()->address();
  auto client = agent::MakeGrpcCoordinatorClient(client_options);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  NeedsMemoryRunner runner(/*needs_gb=*/2.0);  // 1 -> 1.5 (OOM) -> 2.25 fits
  SixteenGbGpu gpu;
  agent::DevicePacker packer(&gpu, GbToBytes(1));
  agent::StopSignal stop;
  agent::AgentOptions options;
  options.registration.name = "oom-worker";
  options.registration.devices = {{"cuda", "cuda:0", 0, 0}};
  options.slot_devices = {"cuda:0"};
  options.work_dir = dir.path() + "/work";
  options.lease_wait_seconds = 1;
  options.probe = &gpu;
  options.packer = &packer;
  agent::Agent worker((*client).get(), &runner, &stop, options);
  std::thread run([&] { EXPECT_TRUE(worker.Run().ok()); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  StatusOr<JobRecord> job = stack.coordinator()->GetJob(job_id);
  while (std::chrono::steady_clock::now() < deadline) {
    job = stack.coordinator()->GetJob(job_id);
    if (job.ok() && job->state == JobState::kSucceeded) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stop.Drain();
  run.join();
  ASSERT_TRUE(job.ok());
  ASSERT_EQ(job->state, JobState::kSucceeded) << job->error;
  EXPECT_EQ(runner.estimates_seen, (std::vector<double>{0, 1.5, 2.25}))
      << "each attempt leased with the estimate the last out-of-memory raised";
  EXPECT_DOUBLE_EQ(job->requirements.memory_estimate_gb, 2.25);
  EXPECT_EQ(job->attempt, 2) << "two out-of-memory ends cost one attempt";
  EXPECT_EQ(job->failures, 1);
  EXPECT_EQ(packer.Admitted("cuda:0"), 0);
  // The worker's heartbeats and registration carried the device's free memory.
  bool reported = false;
  for (const WorkerRecord& w : stack.coordinator()->ListWorkers(true)) {
    for (const WorkerDevice& d : w.devices) reported |= d.name == "cuda:0" && d.free_memory_gb == 15;
  }
  EXPECT_TRUE(reported);
}

}  // namespace
}  // namespace lcsweep::testing
