// CoordinatorClient: what a worker needs from the coordinator, as plain C++
// (no gRPC types), so the agent loop is testable against a fake and the
// transport (worker/rpc/grpc_coordinator_client.h) is swappable.
//
// Error contract (the implementations map their transport's codes onto it):
//   UNAVAILABLE / DEADLINE_EXCEEDED  coordinator unreachable: retry later.
//   FAILED_PRECONDITION              the lease token is stale: abandon the job,
//                                    write nothing more about it.
//   NOT_FOUND                        unknown worker (register again) or no
//                                    checkpoint to download.
//   anything else                    a real error, with a message.
// Thread-safety: implementations must allow concurrent calls (a slot's
// heartbeat thread and its training thread talk to it at the same time).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/resource_usage.h"
#include "common/status.h"

namespace lcsweep::agent {

struct DeviceInfo {
  std::string kind;        // "cpu" | "cuda"
  std::string name;        // "cpu", "cuda:0"
  double memory_gb = 0;    // total memory (cuda; cpu too when probed)
  // Free memory when last measured (DeviceProbe); 0 = unknown.
  double free_memory_gb = 0;
  std::string model = "";  // e.g. "NVIDIA H100 80GB HBM3" ("" = unknown), for accounting
};

struct WorkerRegistration {
  std::string name;
  std::string hostname;
  std::vector<DeviceInfo> devices;
  int cores = 0;
  int slots = 1;
  std::map<std::string, std::string> versions;
  std::map<std::string, std::string> labels;
};

struct Registration {
  int64_t worker_id = 0;
  int64_t lease_ttl_ms = 0;
  int64_t heartbeat_interval_ms = 0;
};

struct LeaseRequest {
  int64_t worker_id = 0;
  bool has_cpu = true;
  bool has_cuda = false;
  // What the worker can give one more job on `device`: the device's free
  // memory measured now, less the reserve and what its running jobs there
  // are still expected to allocate (worker/agent/packer.h).
  double free_gpu_memory_gb = 0;
  int wait_seconds = 0;  // long poll
  std::string device = "";  // the slot's device, e.g. "cuda:0" ("" = unnamed)
};

struct CheckpointRef {
  int64_t epoch = 0;
  int64_t step = 0;
  int64_t size_bytes = 0;
  std::string sha256;
};

struct LeaseGrant {
  int64_t job_id = 0;
  int attempt = 0;
  std::string config_json;   // canonical job config
  std::string config_hash;
  std::string token;         // fencing token for every later call
  int64_t heartbeat_interval_ms = 0;
  std::optional<CheckpointRef> resume_from;
  // The coordinator's memory estimate in GB (0 = none), raised after the
  // job ran out of memory or did not fit a worker.
  double memory_estimate_gb = 0;
};

// Why a worker gives a job back (ReleaseJobForMemory).
enum class ReleaseReason {
  kOutOfMemory,  // the job ran out of device memory (first time: costs one attempt)
  kDoesNotFit,   // its estimate exceeds what this worker can give it now
};

struct MetricSample {
  std::string name;
  double value = 0;
  int64_t step = 0;
  int64_t epoch = 0;
  int64_t time_ms = 0;
};

struct ProgressReport {
  int64_t epoch = 0;
  int64_t step = 0;
  std::map<std::string, double> metrics;
  int64_t run_images = 0;    // training images this attempt processed so far (accounting)
  // The worker's devices with their free memory measured for this
  // heartbeat (empty = not measured); the coordinator's lease matching uses
  // the newest report.
  std::vector<DeviceInfo> devices = {};
};

class CoordinatorClient {
 public:
  virtual ~CoordinatorClient() = default;
  virtual StatusOr<Registration> Register(const WorkerRegistration& registration) = 0;
  // An empty optional when no job came within the wait.
  virtual StatusOr<std::optional<LeaseGrant>> Lease(const LeaseRequest& request) = 0;
  // Returns true when the job was cancelled and must stop. `usage`: the
  // attempt's usage so far (ResourceUsage, common/resource_usage.h); the
  // final calls below carry its final value.
  virtual StatusOr<bool> Heartbeat(int64_t job_id, const std::string& token,
                                   const ProgressReport& progress,
                                   const ResourceUsage& usage) = 0;
  // OK means every point is durably stored. `seq` numbers the reports of one
  // lease from 1; a resend of a report (after an error or a lost reply) must
  // carry the same seq and the same points, and is then stored only once.
  virtual Status ReportMetrics(int64_t job_id, const std::string& token, int64_t seq,
                               const std::vector<MetricSample>& points) = 0;
  virtual Status UploadCheckpoint(int64_t job_id, const std::string& token, int64_t epoch,
                                  int64_t step, const std::string& file_path) = 0;
  // Uploads the job's final model file (before CompleteJob). Idempotent:
  // a resend of the same file after a lost reply stores nothing new.
  virtual Status UploadModel(int64_t job_id, const std::string& token, int64_t epoch, int64_t step,
                             const std::string& file_path) = 0;
  // Writes the lease's newest checkpoint to `file_path` (verified by SHA-256).
  virtual Status DownloadCheckpoint(int64_t job_id, const std::string& token,
                                    const std::string& file_path) = 0;
  virtual Status CompleteJob(int64_t job_id, const std::string& token,
                             const std::string& result_json, const ResourceUsage& usage) = 0;
  virtual Status FailJob(int64_t job_id, const std::string& token, const std::string& error,
                         bool retryable, const ResourceUsage& usage) = 0;
  virtual Status ReleaseJob(int64_t job_id, const std::string& token, const std::string& reason,
                            const ResourceUsage& usage) = 0;
  // A release for memory: the coordinator raises the job's estimate to at
  // least `memory_estimate_gb` so its next lease asks for that much.
  virtual Status ReleaseJobForMemory(int64_t job_id, const std::string& token, ReleaseReason why,
                                     double memory_estimate_gb, const std::string& reason,
                                     const ResourceUsage& usage) = 0;
};

// True for the codes that mean "try again later" (coordinator unreachable).
inline bool IsTransient(const Status& status) {
  return status.code() == StatusCode::kUnavailable ||
         status.code() == StatusCode::kDeadlineExceeded;
}

}  // namespace lcsweep::agent
