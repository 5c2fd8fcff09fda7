// LocalCluster: a real lcsweep-coordinator and real lcsweep-worker processes
// on loopback, on a temporary SQLite file, for end-to-end tests. Talks to the
// coordinator through the real JobService over gRPC.
// Not thread-safe; one per test.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "lcsweep/v1/coordinator.grpc.pb.h"
#include "tests/integration/child_process.h"

namespace lcsweep::testing {

struct ClusterOptions {
  int lease_seconds = 4;
  std::vector<std::string> extra_coordinator_args;
  // Where the coordinator keeps its SQLite file and checkpoints; "" = the
  // cluster's temporary folder (the fault tests put it on a small tmpfs).
  std::string state_dir;
};

// How one worker is started (LocalCluster::StartWorker).
struct WorkerLaunch {
  std::vector<std::string> extra_args;   // appended to the worker's flags
  std::vector<std::string> env;          // "NAME=VALUE" added to its environment
  std::string coordinator_address;       // "" = the coordinator's own (else e.g. a proxy)
};

class LocalCluster {
 public:
  explicit LocalCluster(ClusterOptions options = {});
  ~LocalCluster();

  const std::string& dir() const { return dir_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // (Re)starts the coordinator on the same port and database; `extra` is
  // appended to ClusterOptions::extra_coordinator_args for this start only.
  // Returns false (and adds a test failure) when it did not come up.
  bool StartCoordinator(const std::vector<std::string>& extra = {});
  std::string db_path() const { return state_dir_ + "/lcsweep.db"; }
  ChildProcess& coordinator() { return *coordinator_; }
  void KillCoordinator(int sig);

  // Starts a worker named `name`; extra flags appended.
  ChildProcess& StartWorker(const std::string& name, std::vector<std::string> extra = {});
  ChildProcess& StartWorker(const std::string& name, const WorkerLaunch& launch);
  ChildProcess& worker(const std::string& name) { return *workers_.at(name); }

  // JobService calls (fail the test via exceptions-free asserts at call sites).
  grpc::Status Submit(const nlohmann::json& spec, v1::SubmitSweepResponse* response,
                      const std::string& request_id = "");
  v1::Job GetJob(int64_t job_id);
  std::vector<v1::Job> Jobs(int64_t sweep_id);
  // The job's live series by name, every page of GetMetrics followed
  // (include_superseded: every stored point). Fails the test on an error.
  std::map<std::string, std::vector<v1::MetricPoint>> Metrics(int64_t job_id,
                                                             bool include_superseded = false);
  std::vector<v1::Event> Events(int64_t job_id);
  grpc::Status Cancel(int64_t job_id);
  // Epoch of the job's newest stored checkpoint; -1 when it has none.
  int64_t CheckpointEpoch(int64_t job_id);
  v1::JobService::Stub& stub() { return *stub_; }

  // Polls `done` every 50 ms until it holds or `timeout` passes.
  static bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout);

 private:
  ClusterOptions options_;
  std::string dir_;
  std::string state_dir_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> coordinator_;
  int coordinator_starts_ = 0;
  std::map<std::string, std::unique_ptr<ChildProcess>> workers_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::JobService::Stub> stub_;
};

// A sweep over tiny ResNet-LC models on synthetic data: quick on 2 cores
// (16x16 images, width 8: thousands of images per second).
nlohmann::json TinySweep(const std::string& name, int epochs, int train_size,
                         const nlohmann::json& grid, const std::vector<int>& seeds);
// The same with 32x32 images and width 16: a few seconds per epoch of 2,048
// images, long enough to kill, drain or cancel a job mid-run.
nlohmann::json SlowSweep(const std::string& name, int epochs, const nlohmann::json& grid,
                         const std::vector<int>& seeds);

// Runs lcsweep-train on one job config; returns its result document.
nlohmann::json RunStandalone(const std::string& config_json, const std::string& dir);

bool IsFinal(v1::JobState state);

}  // namespace lcsweep::testing
