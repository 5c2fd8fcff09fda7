// WorkerMetrics: the worker's Prometheus metrics (common/metrics_registry.h),
// served by lcsweep-worker on --metrics-listen (off by default). Two
// decorators feed them, so the agent loop and the trainer know nothing of
// metrics:
//   MeteredRunner  wraps the JobRunner: a job counts as running for the whole
//                  of Run(), and its observer's SetProgress carries the
//                  trainer's images/s ("train.images_per_second");
//   MeteredClient  wraps the CoordinatorClient: the time of the last
//                  heartbeat the coordinator accepted, and the device memory
//                  measured for the registration and each heartbeat.
// Exported:
//   lcsweep_worker_jobs_running                       jobs inside JobRunner::Run now
//   lcsweep_worker_images_per_second{device}          summed over the device's running jobs
//   lcsweep_worker_jobs_finished_total{outcome}       succeeded, failed, cancelled, drained
//   lcsweep_worker_last_heartbeat_age_seconds         since the last accepted heartbeat
//                                                     (NaN before the first)
//   lcsweep_worker_device_memory_total_bytes{device}  as last measured (worker/agent/device_probe.h:
//   lcsweep_worker_device_memory_free_bytes{device}   NVML or nvidia-smi on a GPU, MemTotal and
//                                                     MemAvailable for "cpu"); absent until measured
//
// Ownership: the decorators borrow what they wrap and the WorkerMetrics, all
// of which must outlive them. Thread-safety: every method may be called from
// any thread (slots run concurrently).
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "common/metrics_registry.h"
#include "worker/agent/coordinator_client.h"
#include "worker/agent/job_runner.h"

namespace lcsweep::agent {

class WorkerMetrics {
 public:
  using Now = std::chrono::steady_clock::time_point (*)();
  explicit WorkerMetrics(MetricsRegistry* registry, Now now = &std::chrono::steady_clock::now);

  void JobStarted(int64_t job_id, const std::string& device);
  void JobProgress(int64_t job_id, const ProgressReport& progress);
  void JobFinished(int64_t job_id, JobRun::Outcome outcome);
  void HeartbeatAccepted();
  // The devices' memory as measured (entries with nothing measured are skipped).
  void DevicesMeasured(const std::vector<DeviceInfo>& devices);

 private:
  void UpdateImagesPerSecond(const std::string& device);  // requires mu_

  const Now now_;
  Gauge* running_;
  GaugeFamily* images_per_second_;
  CounterFamily* finished_;
  GaugeFamily* device_total_;
  GaugeFamily* device_free_;

  std::mutex mu_;
  struct Job {
    std::string device;
    double images_per_second = 0;
  };
  std::map<int64_t, Job> jobs_;                                     // guarded by mu_
  bool heartbeat_seen_ = false;                                     // guarded by mu_
  std::chrono::steady_clock::time_point last_heartbeat_;            // guarded by mu_
};

class MeteredRunner final : public JobRunner {
 public:
  MeteredRunner(JobRunner* inner, WorkerMetrics* metrics) : inner_(inner), metrics_(metrics) {}
  JobRun Run(const JobContext& context, JobObserver* observer) override;
  StatusOr<int64_t> EstimateMemoryBytes(const LeaseGrant& lease, const std::string& device) override {
    return inner_->EstimateMemoryBytes(lease, device);
  }

 private:
  JobRunner* const inner_;
  WorkerMetrics* const metrics_;
};

class MeteredClient final : public CoordinatorClient {
 public:
  MeteredClient(CoordinatorClient* inner, WorkerMetrics* metrics) : inner_(inner), metrics_(metrics) {}

  StatusOr<Registration> Register(const WorkerRegistration& r) override {
    metrics_->DevicesMeasured(r.devices);
    return inner_->Register(r);
  }
  StatusOr<std::optional<LeaseGrant>> Lease(const LeaseRequest& r) override { return inner_->Lease(r); }
  StatusOr<bool> Heartbeat(int64_t job_id, const std::string& token, const ProgressReport& progress,
                           const ResourceUsage& usage) override;
  Status ReportMetrics(int64_t job_id, const std::string& token, int64_t seq,
                       const std::vector<MetricSample>& points) override {
    return inner_->ReportMetrics(job_id, token, seq, points);
  }
  Status UploadCheckpoint(int64_t job_id, const std::string& token, int64_t epoch, int64_t step,
                          const std::string& file_path) override {
    return inner_->UploadCheckpoint(job_id, token, epoch, step, file_path);
  }
  Status UploadModel(int64_t job_id, const std::string& token, int64_t epoch, int64_t step,
                     const std::string& file_path) override {
    return inner_->UploadModel(job_id, token, epoch, step, file_path);
  }
  Status DownloadCheckpoint(int64_t job_id, const std::string& token, const std::string& file_path) override {
    return inner_->DownloadCheckpoint(job_id, token, file_path);
  }
  Status CompleteJob(int64_t job_id, const std::string& token, const std::string& result_json,
                     const ResourceUsage& usage) override {
    return inner_->CompleteJob(job_id, token, result_json, usage);
  }
  Status FailJob(int64_t job_id, const std::string& token, const std::string& error, bool retryable,
                 const ResourceUsage& usage) override {
    return inner_->FailJob(job_id, token, error, retryable, usage);
  }
  Status ReleaseJob(int64_t job_id, const std::string& token, const std::string& reason,
                    const ResourceUsage& usage) override {
    return inner_->ReleaseJob(job_id, token, reason, usage);
  }
  Status ReleaseJobForMemory(int64_t job_id, const std::string& token, ReleaseReason why,
                             double memory_estimate_gb, const std::string& reason,
                             const ResourceUsage& usage) override {
    return inner_->ReleaseJobForMemory(job_id, token, why, memory_estimate_gb, reason, usage);
  }

 private:
  CoordinatorClient* const inner_;
  WorkerMetrics* const metrics_;
};

}  // namespace lcsweep::agent
