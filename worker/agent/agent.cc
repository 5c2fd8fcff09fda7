#include "worker/agent/agent.h"

#include <algorithm>
#include <thread>

#include "common/logging.h"
#include "worker/agent/backoff.h"

namespace lcsweep::agent {
namespace {

std::shared_ptr<spdlog::logger> Log() { return GetLogger("worker"); }

// Errors that no amount of retrying fixes: stop and tell the operator.
bool IsFatal(const Status& status) {
  return status.code() == StatusCode::kUnauthenticated ||
         status.code() == StatusCode::kPermissionDenied ||
         status.code() == StatusCode::kInvalidArgument;
}

}  // namespace

Agent::Agent(CoordinatorClient* client, JobRunner* runner, StopSignal* stop, AgentOptions options)
    : client_(client), runner_(runner), stop_(stop), options_(std::move(options)) {
  if (options_.slot_devices.empty()) options_.slot_devices = {"cpu"};
  options_.registration.slots = static_cast<int>(options_.slot_devices.size());
}

AgentStats Agent::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

std::vector<DeviceInfo> Agent::MeasureDevices() {
  std::vector<DeviceInfo> devices = options_.registration.devices;
  if (options_.probe == nullptr) return devices;
  for (DeviceInfo& d : devices) {
    StatusOr<DeviceMemory> m = options_.probe->Probe(d.name);
    if (m.ok()) {
      d.memory_gb = BytesToGb(m->total_bytes);
      d.free_memory_gb = BytesToGb(m->free_bytes);
      continue;
    }
    std::lock_guard<std::mutex> lock(probe_mu_);
    if (!probe_warned_[d.name]) {
      probe_warned_[d.name] = true;
      Log()->warn("event=device_probe_failed {} {} action=report_unknown_free_memory",
                  Kv("device", d.name), Kv("error", m.status().ToString()));
    }
    d.free_memory_gb = 0;
  }
  return devices;
}

double Agent::LeaseOffer(const std::string& device) {
  if (options_.packer != nullptr) return BytesToGb(options_.packer->Offer(device));
  for (const DeviceInfo& d : options_.probe == nullptr ? options_.registration.devices
                                                       : MeasureDevices()) {
    if (d.name != device) continue;
    return options_.probe == nullptr ? d.memory_gb : d.free_memory_gb;
  }
  return 0;
}

Status Agent::RegisterWithRetry() {
  Backoff backoff(std::chrono::milliseconds(250), std::chrono::seconds(10),
                  std::hash<std::string>()(options_.registration.name));
  while (!stop_->draining()) {
    WorkerRegistration registration = options_.registration;
    registration.devices = MeasureDevices();
    StatusOr<Registration> reg = client_->Register(registration);
    if (reg.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      worker_id_ = reg->worker_id;
      heartbeat_interval_ms_ = reg->heartbeat_interval_ms;
      Log()->info("event=registered {} {} {}", Kv("worker_id", reg->worker_id),
                  Kv("name", options_.registration.name),
                  Kv("slots", options_.registration.slots));
      return OkStatus();
    }
    if (IsFatal(reg.status())) return reg.status();
    Log()->warn("event=register_failed {} action=retry", Kv("error", reg.status().ToString()));
    stop_->SleepFor(backoff.Next());
  }
  return OkStatus();
}

Status Agent::Run() {
  LCSWEEP_RETURN_IF_ERROR(RegisterWithRetry());
  std::vector<std::thread> slots;
  for (size_t i = 0; i < options_.slot_devices.size(); ++i) {
    slots.emplace_back([this, i] { SlotLoop(static_cast<int>(i)); });
  }
  for (auto& t : slots) t.join();
  std::lock_guard<std::mutex> lock(mu_);
  return fatal_;
}

std::string Agent::DeviceModel(const std::string& device) const {
  for (const DeviceInfo& d : options_.registration.devices)
    if (d.name == device && !d.model.empty()) return d.model;
  return device == "cpu" ? CpuModelName() : device;
}

void Agent::SlotLoop(int slot) {
  const std::string device = options_.slot_devices[static_cast<size_t>(slot)];
  Backoff backoff(std::chrono::milliseconds(250), std::chrono::seconds(10),
                  std::hash<std::string>()(options_.registration.name) + static_cast<uint64_t>(slot));
  while (!stop_->draining()) {
    if (options_.once && once_claimed_) return;
    LeaseRequest request;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!fatal_.ok()) return;
      request.worker_id = worker_id_;
    }
    const bool cuda = IsCudaDevice(device);
    request.has_cpu = !cuda;
    request.has_cuda = cuda;
    request.device = device;
    request.free_gpu_memory_gb = LeaseOffer(device);
    if (options_.packer != nullptr && request.free_gpu_memory_gb <= 0) {
      stop_->SleepFor(options_.full_device_wait);  // the device is full: wait for a job to end
      continue;
    }
    request.wait_seconds = options_.lease_wait_seconds;

    StatusOr<std::optional<LeaseGrant>> lease = client_->Lease(request);
    if (!lease.ok()) {
      if (lease.status().code() == StatusCode::kNotFound) {
        // The coordinator lost track of us (e.g. a fresh database): register again.
        Log()->warn("event=unknown_worker action=register_again");
        Status reg = RegisterWithRetry();
        if (!reg.ok()) {
          std::lock_guard<std::mutex> lock(mu_);
          fatal_ = reg;
          return;
        }
        continue;
      }
      if (IsFatal(lease.status())) {
        Log()->error("event=lease_refused {} action=exit", Kv("error", lease.status().ToString()));
        std::lock_guard<std::mutex> lock(mu_);
        fatal_ = lease.status();
        return;
      }
      Log()->warn("event=lease_failed {} {} action=backoff", Kv("slot", slot),
                  Kv("error", lease.status().ToString()));
      stop_->SleepFor(backoff.Next());
      continue;
    }
    backoff.Reset();
    if (!lease->has_value()) continue;
    if (options_.once && once_claimed_.exchange(true)) {
      // Another slot already took this --once worker's job: hand this one back.
      client_->ReleaseJob((*lease)->job_id, (*lease)->token, "worker --once already busy",
                          ResourceUsage());
      return;
    }
    LeaseGrant& grant = **lease;
    StatusOr<int64_t> estimated = runner_->EstimateMemoryBytes(grant, device);
    const int64_t estimate =
        std::max(estimated.ok() ? *estimated : int64_t{0}, GbToBytes(grant.memory_estimate_gb));
    if (options_.packer != nullptr && !options_.packer->TryAdmit(device, grant.job_id, estimate)) {
      const int64_t offer = options_.packer->Offer(device);
      Log()->info("event=job_does_not_fit {} {} {} {} action=release", Kv("job", grant.job_id),
                  Kv("device", device), Kv("estimate_gb", BytesToGb(estimate)),
                  Kv("offer_gb", BytesToGb(offer)));
      client_->ReleaseJobForMemory(grant.job_id, grant.token, ReleaseReason::kDoesNotFit,
                                   BytesToGb(estimate),
                                   "needs " + std::to_string(BytesToGb(estimate)) + " GB, " + device +
                                       " can give " + std::to_string(BytesToGb(offer)) + " GB",
                                   ResourceUsage());  // it never started
      stop_->SleepFor(options_.full_device_wait);
      continue;
    }
    SessionOptions session_options;
    session_options.memory_estimate_gb = BytesToGb(estimate);
    session_options.device = device;
    session_options.work_dir = options_.work_dir;
    session_options.heartbeat_interval = options_.heartbeat_interval;
    session_options.meter = &meter_;
    session_options.device_model = DeviceModel(device);
    if (options_.probe != nullptr) session_options.measure_devices = [this] { return MeasureDevices(); };
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (heartbeat_interval_ms_ > 0) {
        session_options.heartbeat_interval = std::chrono::milliseconds(heartbeat_interval_ms_);
      }
      ++stats_.leases;
    }
    JobSession session(client_, runner_, stop_, grant, session_options);
    const SessionEnd end = session.Run();
    if (options_.packer != nullptr) options_.packer->Remove(grant.job_id);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.ends[end];
    }
    if (options_.once) return;
  }
}

}  // namespace lcsweep::agent
