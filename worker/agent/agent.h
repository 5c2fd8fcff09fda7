// Agent: the worker daemon's control loop. Registers with the coordinator,
// then runs one slot thread per configured slot, each pinned to a device:
// lease (long poll) -> JobSession -> lease again, with jittered backoff while
// the coordinator is unreachable and re-registration when it forgot us.
// With a DeviceProbe, registration, every lease request and every heartbeat
// carry the devices' free memory measured at that moment. With a
// DevicePacker, a slot leases only while its device can give a job memory,
// admits a leased job only when the job's estimate (the runner's, or the
// coordinator's if larger) fits, and gives it back (does not fit) otherwise.
// A job that runs out of memory is released with its estimate raised
// (RaisedEstimateGb) instead of failed.
//
// Shutdown: StopSignal::Drain() lets running jobs checkpoint, upload and
// release, and stops leasing; Run() returns once every slot is idle.
// Abort() returns as soon as the slots notice, leaving leases to expire.
// Thread-safety: Run() once; the StopSignal may be triggered from any thread
// (including a signal-watching thread).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "worker/agent/coordinator_client.h"
#include "worker/agent/device_probe.h"
#include "worker/agent/packer.h"
#include "worker/agent/job_runner.h"
#include "worker/agent/job_session.h"
#include "worker/agent/stop_signal.h"
#include "worker/agent/usage_meter.h"

namespace lcsweep::agent {

struct AgentOptions {
  WorkerRegistration registration;   // devices, slots, versions, ...
  std::vector<std::string> slot_devices;  // one entry per slot: "cpu" or "cuda:N"
  std::string work_dir = "lcsweep-work";
  int lease_wait_seconds = 10;        // long-poll length
  bool once = false;                  // run one job, then return
  std::chrono::milliseconds heartbeat_interval{5000};  // used if the coordinator suggests none
  // Measures the devices' memory for registration, lease requests and
  // heartbeats (not owned; must outlive Run()). nullptr: nothing is
  // measured and lease requests offer the registered total memory.
  DeviceProbe* probe = nullptr;
  // --pack: slots sharing a device lease only while the job fits
  // (worker/agent/packer.h); a leased job that does not fit is given back
  // with its estimate. Not owned. nullptr: slots lease regardless of memory.
  DevicePacker* packer = nullptr;
  // How long a packed slot waits before asking again when its device is full.
  std::chrono::milliseconds full_device_wait{1000};
};

// Counts of what the agent did, for logs and tests.
struct AgentStats {
  std::map<SessionEnd, int> ends;
  int leases = 0;
};

class Agent {
 public:
  Agent(CoordinatorClient* client, JobRunner* runner, StopSignal* stop, AgentOptions options);
  // Returns OK after a drain (or --once), or the error that made it give up
  // (e.g. the token was refused: retrying cannot help).
  Status Run();
  AgentStats stats() const;

 private:
  Status RegisterWithRetry();
  // The registered devices with memory measured now (probe failures keep
  // what was registered and log once per device).
  std::vector<DeviceInfo> MeasureDevices();
  // What a lease request on `device` offers one job, in GB.
  double LeaseOffer(const std::string& device);
  void SlotLoop(int slot);
  // ResourceUsage::device_model of a slot's device.
  std::string DeviceModel(const std::string& device) const;

  CoordinatorClient* client_;
  JobRunner* runner_;
  StopSignal* stop_;
  AgentOptions options_;

  mutable std::mutex mu_;
  int64_t worker_id_ = 0;
  int64_t heartbeat_interval_ms_ = 0;
  Status fatal_;
  AgentStats stats_;
  std::atomic<bool> once_claimed_{false};
  UsageMeter meter_;  // what each slot's attempts use (compute accounting)
  std::mutex probe_mu_;
  std::map<std::string, bool> probe_warned_;  // device -> a failure was logged
};

}  // namespace lcsweep::agent
