#include "worker/agent/job_session.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "common/logging.h"
#include "worker/agent/backoff.h"
#include "worker/agent/device_probe.h"

namespace lcsweep::agent {
namespace {

namespace fs = std::filesystem;

std::shared_ptr<spdlog::logger> Log() { return GetLogger("worker"); }

}  // namespace

double RaisedEstimateGb(double estimate_gb) { return std::max(0.5, 1.5 * estimate_gb); }

const char* SessionEndName(SessionEnd end) {
  switch (end) {
    case SessionEnd::kCompleted: return "completed";
    case SessionEnd::kFailed: return "failed";
    case SessionEnd::kCancelled: return "cancelled";
    case SessionEnd::kReleased: return "released";
    case SessionEnd::kAbandoned: return "abandoned";
  }
  return "unknown";
}

JobSession::JobSession(CoordinatorClient* client, JobRunner* runner, StopSignal* stop,
                       LeaseGrant lease, SessionOptions options)
    : client_(client),
      runner_(runner),
      stop_(stop),
      lease_(std::move(lease)),
      options_(std::move(options)) {
  job_dir_ = (fs::path(options_.work_dir) /
              ("job-" + std::to_string(lease_.job_id) + "-" + std::to_string(lease_.attempt)))
                 .string();
  if (lease_.heartbeat_interval_ms > 0) {
    options_.heartbeat_interval = std::chrono::milliseconds(lease_.heartbeat_interval_ms);
  }
  if (options_.meter == nullptr) {
    own_meter_ = std::make_unique<UsageMeter>();
    options_.meter = own_meter_.get();
  }
  const bool gpu = IsCudaDevice(options_.device);
  usage_ = options_.meter->Open(gpu ? "cuda" : "cpu", options_.device_model);
}

ProgressReport JobSession::ProgressSnapshot() {
  std::lock_guard<std::mutex> lock(mu_);
  return progress_;
}

ResourceUsage JobSession::Usage() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    usage_->SetImages(progress_.run_images);
  }
  return usage_->Snapshot();
}

JobSession::~JobSession() {
  {
    std::lock_guard<std::mutex> lock(hb_mu_);
    hb_stop_ = true;
  }
  hb_cv_.notify_all();
  if (heartbeat_thread_.joinable()) heartbeat_thread_.join();
}

void JobSession::NoteStale(const Status& status) {
  if (status.code() == StatusCode::kFailedPrecondition && !lease_lost_.exchange(true)) {
    Log()->warn("event=lease_lost {} reason={}", Kv("job", lease_.job_id),
                Kv("detail", status.message()));
  }
}

template <typename Call>
Status JobSession::CallWithPatience(const char* what, Call call) {
  Backoff backoff(std::chrono::milliseconds(200), std::chrono::seconds(5), lease_.job_id);
  const auto deadline = std::chrono::steady_clock::now() + options_.final_call_patience;
  while (true) {
    Status status = call();
    NoteStale(status);
    if (!IsTransient(status) || lease_lost_) return status;
    if (std::chrono::steady_clock::now() >= deadline || stop_->aborted()) return status;
    Log()->warn("event=retry call={} {} {}", what, Kv("job", lease_.job_id),
                Kv("error", status.ToString()));
    std::this_thread::sleep_for(backoff.Next());
  }
}

std::string JobSession::PrepareResume() {
  if (!lease_.resume_from) return "";
  const std::string path = (fs::path(job_dir_) / "resume.ckpt").string();
  Status status = CallWithPatience("download_checkpoint", [&] {
    return client_->DownloadCheckpoint(lease_.job_id, lease_.token, path);
  });
  if (!status.ok()) {
    // Training from scratch is always correct, only slower; never guess.
    Log()->warn("event=resume_unavailable {} {} action=start_fresh", Kv("job", lease_.job_id),
                Kv("error", status.ToString()));
    return "";
  }
  Log()->info("event=resume {} {} {}", Kv("job", lease_.job_id),
              Kv("epoch", lease_.resume_from->epoch), Kv("step", lease_.resume_from->step));
  return path;
}

SessionEnd JobSession::Run() {
  std::error_code ec;
  fs::create_directories(job_dir_, ec);
  if (ec) {
    const std::string error = "cannot create work folder " + job_dir_ + ": " + ec.message();
    client_->FailJob(lease_.job_id, lease_.token, error, /*retryable=*/true, Usage());
    return SessionEnd::kFailed;
  }
  Log()->info("event=job_start {} {} {}", Kv("job", lease_.job_id), Kv("attempt", lease_.attempt),
              Kv("device", options_.device));
  heartbeat_thread_ = std::thread([this] { HeartbeatLoop(); });

  JobContext context;
  context.lease = lease_;
  context.device = options_.device;
  context.work_dir = job_dir_;
  context.resume_from = PrepareResume();
  JobRun run;
  if (lease_lost_) {
    run.outcome = JobRun::Outcome::kCancelled;
  } else {
    run = runner_->Run(context, this);
  }
  const SessionEnd end = Finish(run);

  {
    std::lock_guard<std::mutex> lock(hb_mu_);
    hb_stop_ = true;
  }
  hb_cv_.notify_all();
  heartbeat_thread_.join();
  fs::remove_all(job_dir_, ec);
  Log()->info("event=job_end {} {}", Kv("job", lease_.job_id), Kv("end", SessionEndName(end)));
  return end;
}

SessionEnd JobSession::Finish(const JobRun& run) {
  if (lease_lost_) return SessionEnd::kAbandoned;
  if (cancel_requested_) return SessionEnd::kCancelled;
  if (stop_->aborted()) return SessionEnd::kAbandoned;  // left to lease expiry

  Status flushed = CallWithPatience("report_metrics", [&] { return FlushMetrics(); });
  if (lease_lost_) return SessionEnd::kAbandoned;
  if (!flushed.ok()) {
    // Completing now would leave the job succeeded with steps missing from
    // its series for good (e.g. the coordinator's disk refused the points
    // but still had room for the small completion). Give the job back: it
    // re-runs from its last checkpoint, whose points are all stored.
    Log()->error("event=metrics_undelivered {} {} action=release", Kv("job", lease_.job_id),
                 Kv("error", flushed.ToString()));
    CallWithPatience("release", [&] {
      return client_->ReleaseJob(lease_.job_id, lease_.token, "metrics undelivered", Usage());
    });
    return lease_lost_ ? SessionEnd::kAbandoned : SessionEnd::kReleased;
  }
  switch (run.outcome) {
    case JobRun::Outcome::kSucceeded: {
      UploadModel(run);
      if (lease_lost_) return SessionEnd::kAbandoned;
      Status s = CallWithPatience("complete", [&] {
        return client_->CompleteJob(lease_.job_id, lease_.token, run.result_json, Usage());
      });
      if (!s.ok()) {
        Log()->error("event=complete_failed {} {}", Kv("job", lease_.job_id), Kv("error", s.ToString()));
        return lease_lost_ ? SessionEnd::kAbandoned : SessionEnd::kFailed;
      }
      return SessionEnd::kCompleted;
    }
    case JobRun::Outcome::kFailed: {
      if (run.out_of_memory) {
        const double raised = RaisedEstimateGb(options_.memory_estimate_gb);
        Log()->warn("event=job_out_of_memory {} {} {} action=release", Kv("job", lease_.job_id),
                    Kv("estimate_gb", options_.memory_estimate_gb), Kv("raised_gb", raised));
        CallWithPatience("release", [&] {
          return client_->ReleaseJobForMemory(lease_.job_id, lease_.token, ReleaseReason::kOutOfMemory,
                                              raised, run.error, Usage());
        });
        return lease_lost_ ? SessionEnd::kAbandoned : SessionEnd::kReleased;
      }
      Log()->error("event=job_failed {} {} {}", Kv("job", lease_.job_id), Kv("error", run.error),
                   Kv("retryable", run.retryable ? "true" : "false"));
      CallWithPatience("fail", [&] {
        return client_->FailJob(lease_.job_id, lease_.token, run.error, run.retryable, Usage());
      });
      return SessionEnd::kFailed;
    }
    case JobRun::Outcome::kDrained:
    case JobRun::Outcome::kCancelled: {
      // kCancelled without a cancel from the coordinator means the runner
      // stopped for a drain before it could checkpoint: give the job back.
      CallWithPatience("release", [&] {
        return client_->ReleaseJob(lease_.job_id, lease_.token, "worker drain", Usage());
      });
      return lease_lost_ ? SessionEnd::kAbandoned : SessionEnd::kReleased;
    }
  }
  return SessionEnd::kFailed;
}

void JobSession::HeartbeatLoop() {
  while (true) {
    {
      std::unique_lock<std::mutex> lock(hb_mu_);
      if (hb_cv_.wait_for(lock, options_.heartbeat_interval, [this] { return hb_stop_; })) return;
    }
    if (lease_lost_ || cancel_requested_) continue;
    Status flushed = FlushMetrics();
    NoteStale(flushed);
    if (lease_lost_) {
      // A report refused because the job was cancelled or stopped early
      // (its token still acknowledges that once): say what the attempt used
      // up to here. For a lease that truly moved on this is refused too.
      client_->Heartbeat(lease_.job_id, lease_.token, ProgressSnapshot(), Usage());
      continue;
    }
    ProgressReport progress = ProgressSnapshot();
    if (options_.measure_devices) progress.devices = options_.measure_devices();
    StatusOr<bool> beat = client_->Heartbeat(lease_.job_id, lease_.token, progress, Usage());
    if (!beat.ok()) {
      NoteStale(beat.status());
      if (IsTransient(beat.status())) {
        Log()->warn("event=heartbeat_failed {} {}", Kv("job", lease_.job_id),
                    Kv("error", beat.status().ToString()));
      }
      continue;
    }
    if (*beat && !cancel_requested_.exchange(true)) {
      Log()->info("event=cancel_requested {}", Kv("job", lease_.job_id));
    }
  }
}

Status JobSession::FlushMetrics() {
  std::lock_guard<std::mutex> flush_lock(flush_mu_);
  while (true) {
    if (inflight_.empty()) {
      std::lock_guard<std::mutex> lock(mu_);
      if (pending_.empty()) return OkStatus();
      const size_t n = std::min(pending_.size(), options_.max_points_per_report);
      inflight_.assign(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(n));
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(n));
      inflight_seq_ = next_seq_++;
    }
    // A failed report (even one whose reply was lost after the coordinator
    // stored it) is resent as it was: same seq, same points.
    Status status = client_->ReportMetrics(lease_.job_id, lease_.token, inflight_seq_, inflight_);
    if (!status.ok()) return status;
    inflight_.clear();
  }
}

void JobSession::Record(std::vector<MetricSample> samples) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& s : samples) pending_.push_back(std::move(s));
}

void JobSession::SetProgress(const ProgressReport& progress) {
  std::lock_guard<std::mutex> lock(mu_);
  progress_ = progress;
}

void JobSession::CheckpointSaved(const std::string& path, int64_t epoch, int64_t step) {
  if (lease_lost_ || cancel_requested_) return;
  // Metrics first: a resumed attempt starts after this checkpoint's step, so
  // everything measured before it must already be stored.
  Status status = CallWithPatience("report_metrics", [&] { return FlushMetrics(); });
  if (status.ok()) {
    status = CallWithPatience("upload_checkpoint", [&] {
      return client_->UploadCheckpoint(lease_.job_id, lease_.token, epoch, step, path);
    });
  }
  if (status.ok()) {
    Log()->info("event=checkpoint_uploaded {} {} {}", Kv("job", lease_.job_id), Kv("epoch", epoch),
                Kv("step", step));
  } else if (!lease_lost_) {
    // Losing a checkpoint costs time on a resume, never correctness.
    Log()->warn("event=checkpoint_upload_failed {} {}", Kv("job", lease_.job_id),
                Kv("error", status.ToString()));
  }
}

void JobSession::UploadModel(const JobRun& run) {
  if (run.model_path.empty()) return;
  ProgressReport progress;
  {
    std::lock_guard<std::mutex> lock(mu_);
    progress = progress_;
  }
  Status status = CallWithPatience("upload_model", [&] {
    return client_->UploadModel(lease_.job_id, lease_.token, progress.epoch, progress.step, run.model_path);
  });
  if (status.ok()) {
    Log()->info("event=model_uploaded {}", Kv("job", lease_.job_id));
  } else if (!lease_lost_) {
    // The result is what the sweep needs; a missing model is reported by
    // GetModel (and here) but does not fail a job that trained correctly.
    Log()->warn("event=model_upload_failed {} {}", Kv("job", lease_.job_id), Kv("error", status.ToString()));
  }
}

StopRequest JobSession::ShouldStop() {
  if (lease_lost_ || cancel_requested_ || stop_->aborted()) return StopRequest::kCancel;
  if (stop_->draining()) return StopRequest::kDrain;
  return StopRequest::kContinue;
}

}  // namespace lcsweep::agent
