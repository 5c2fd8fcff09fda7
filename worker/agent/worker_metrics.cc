#include "worker/agent/worker_metrics.h"

#include <cmath>

#include "worker/agent/device_probe.h"

namespace lcsweep::agent {
namespace {

const char* OutcomeName(JobRun::Outcome o) {
  switch (o) {
    case JobRun::Outcome::kSucceeded: return "succeeded";
    case JobRun::Outcome::kFailed: return "failed";
    case JobRun::Outcome::kCancelled: return "cancelled";
    case JobRun::Outcome::kDrained: return "drained";
  }
  return "unknown";
}

// Passes everything through; tells the metrics about each progress report.
class MeteredObserver final : public JobObserver {
 public:
  MeteredObserver(JobObserver* inner, WorkerMetrics* metrics, int64_t job_id)
      : inner_(inner), metrics_(metrics), job_id_(job_id) {}
  void Record(std::vector<MetricSample> samples) override { inner_->Record(std::move(samples)); }
  void SetProgress(const ProgressReport& progress) override {
    metrics_->JobProgress(job_id_, progress);
    inner_->SetProgress(progress);
  }
  void CheckpointSaved(const std::string& path, int64_t epoch, int64_t step) override {
    inner_->CheckpointSaved(path, epoch, step);
  }
  StopRequest ShouldStop() override { return inner_->ShouldStop(); }

 private:
  JobObserver* const inner_;
  WorkerMetrics* const metrics_;
  const int64_t job_id_;
};

}  // namespace

WorkerMetrics::WorkerMetrics(MetricsRegistry* registry, Now now) : now_(now) {
  running_ = registry->AddGauge("lcsweep_worker_jobs_running", "Jobs this worker is running now")->With({});
  images_per_second_ = registry->AddGauge("lcsweep_worker_images_per_second",
                                          "Training throughput of the running jobs, per device", {"device"});
  finished_ = registry->AddCounter("lcsweep_worker_jobs_finished_total",
                                   "Jobs this worker finished running, by how they ended", {"outcome"});
  device_total_ = registry->AddGauge("lcsweep_worker_device_memory_total_bytes",
                                     "Total memory of each device, as last measured", {"device"});
  device_free_ = registry->AddGauge("lcsweep_worker_device_memory_free_bytes",
                                    "Free memory of each device, as last measured", {"device"});
  registry->AddCallbackGauge("lcsweep_worker_last_heartbeat_age_seconds",
                             "Seconds since the coordinator last accepted a heartbeat (NaN before the first)",
                             [this] {
                               std::lock_guard<std::mutex> lock(mu_);
                               if (!heartbeat_seen_) return std::nan("");
                               return std::chrono::duration<double>(now_() - last_heartbeat_).count();
                             });
}

void WorkerMetrics::DevicesMeasured(const std::vector<DeviceInfo>& devices) {
  for (const DeviceInfo& d : devices) {  // DeviceInfo's GB are GiB (device_probe.h)
    if (d.memory_gb > 0) device_total_->With({d.name})->Set(static_cast<double>(GbToBytes(d.memory_gb)));
    if (d.free_memory_gb > 0)
      device_free_->With({d.name})->Set(static_cast<double>(GbToBytes(d.free_memory_gb)));
  }
}

void WorkerMetrics::UpdateImagesPerSecond(const std::string& device) {
  double sum = 0;
  for (const auto& [id, job] : jobs_) {
    if (job.device == device) sum += job.images_per_second;
  }
  images_per_second_->With({device})->Set(sum);
}

void WorkerMetrics::JobStarted(int64_t job_id, const std::string& device) {
  std::lock_guard<std::mutex> lock(mu_);
  jobs_[job_id] = Job{device, 0};
  running_->Set(static_cast<double>(jobs_.size()));
  UpdateImagesPerSecond(device);
}

void WorkerMetrics::JobProgress(int64_t job_id, const ProgressReport& progress) {
  auto it = progress.metrics.find("train.images_per_second");
  if (it == progress.metrics.end()) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto job = jobs_.find(job_id);
  if (job == jobs_.end()) return;
  job->second.images_per_second = it->second;
  UpdateImagesPerSecond(job->second.device);
}

void WorkerMetrics::JobFinished(int64_t job_id, JobRun::Outcome outcome) {
  finished_->With({OutcomeName(outcome)})->Inc();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return;
  const std::string device = it->second.device;
  jobs_.erase(it);
  running_->Set(static_cast<double>(jobs_.size()));
  UpdateImagesPerSecond(device);
}

void WorkerMetrics::HeartbeatAccepted() {
  std::lock_guard<std::mutex> lock(mu_);
  heartbeat_seen_ = true;
  last_heartbeat_ = now_();
}

JobRun MeteredRunner::Run(const JobContext& context, JobObserver* observer) {
  metrics_->JobStarted(context.lease.job_id, context.device);
  MeteredObserver metered(observer, metrics_, context.lease.job_id);
  JobRun run = inner_->Run(context, &metered);
  metrics_->JobFinished(context.lease.job_id, run.outcome);
  return run;
}

StatusOr<bool> MeteredClient::Heartbeat(int64_t job_id, const std::string& token,
                                        const ProgressReport& progress, const ResourceUsage& usage) {
  metrics_->DevicesMeasured(progress.devices);
  StatusOr<bool> r = inner_->Heartbeat(job_id, token, progress, usage);
  if (r.ok()) metrics_->HeartbeatAccepted();
  return r;
}

}  // namespace lcsweep::agent
