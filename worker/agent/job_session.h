// JobSession: everything the worker does for one leased job, from download
// of its checkpoint to the final Complete/Fail/Release call.
//
// - A heartbeat thread of its own extends the lease every interval (a long
//   epoch must not let it expire), ships buffered metric points, and learns
//   of cancellation.
// - Metric points are kept until the coordinator acknowledged them; a
//   coordinator restart only delays them. A job whose points could not all
//   be delivered (e.g. the coordinator's disk is full) is released, never
//   completed: a completion would seal a series with steps missing.
// - Checkpoints are uploaded when the runner reports one, after the metrics
//   measured before it, so a resumed attempt never re-reports a stored step.
// - A succeeded job's final model is uploaded before the completion (the
//   lease must still be live); a model that cannot be uploaded is logged
//   (event=model_upload_failed) and the job still completes with its result.
// - A run that ran out of device memory is released (out of memory) with a
//   raised estimate, not failed: the coordinator charges it one attempt at
//   most once and places it where more memory is free.
// - A stale token (FAILED_PRECONDITION) anywhere: the job is abandoned and
//   nothing more is written about it.
// - What the attempt uses (UsageMeter) rides on every heartbeat and on the
//   final call, so even an attempt that is lost later is accounted up to its
//   last heartbeat.
// Thread-safety: Run() is called once, from the slot's thread; the observer
// methods are called from that same thread by the runner.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "worker/agent/coordinator_client.h"
#include "worker/agent/job_runner.h"
#include "worker/agent/stop_signal.h"
#include "worker/agent/usage_meter.h"

namespace lcsweep::agent {

struct SessionOptions {
  std::string device = "cpu";
  std::string work_dir;                       // the job's own folder is created under it
  std::chrono::milliseconds heartbeat_interval{5000};
  size_t max_points_per_report = 5000;
  // How long final calls keep retrying while the coordinator is unreachable.
  std::chrono::milliseconds final_call_patience{std::chrono::minutes(10)};
  // Measures the attempt (shared by the worker's slots; not owned). Null: the
  // session measures with a meter of its own.
  UsageMeter* meter = nullptr;
  std::string device_model;                   // ResourceUsage::device_model
  // Called before every heartbeat for the devices' free memory (empty
  // function: heartbeats carry no devices). From the heartbeat thread.
  std::function<std::vector<DeviceInfo>()> measure_devices;
  // The job's memory estimate the slot admitted it with; an out-of-memory
  // end releases the job with RaisedEstimateGb of it.
  double memory_estimate_gb = 0;
};

// What happened to the job, for logs and tests.
enum class SessionEnd { kCompleted, kFailed, kCancelled, kReleased, kAbandoned };
const char* SessionEndName(SessionEnd end);

// The estimate a job gets after it ran out of memory with `estimate_gb`:
// half again as much, at least 0.5 GB.
double RaisedEstimateGb(double estimate_gb);

class JobSession : private JobObserver {
 public:
  JobSession(CoordinatorClient* client, JobRunner* runner, StopSignal* stop, LeaseGrant lease,
             SessionOptions options);
  ~JobSession() override;
  SessionEnd Run();

 private:
  // JobObserver (training thread).
  void Record(std::vector<MetricSample> samples) override;
  void SetProgress(const ProgressReport& progress) override;
  void CheckpointSaved(const std::string& path, int64_t epoch, int64_t step) override;
  StopRequest ShouldStop() override;

  void HeartbeatLoop();
  // Sends buffered points; returns the last error (OK when all were stored).
  Status FlushMetrics();
  // Retries `call` while the coordinator is unreachable (bounded by patience,
  // and by the abort signal); marks the lease lost on FAILED_PRECONDITION.
  template <typename Call>
  Status CallWithPatience(const char* what, Call call);
  void NoteStale(const Status& status);
  SessionEnd Finish(const JobRun& run);
  ResourceUsage Usage();
  ProgressReport ProgressSnapshot();
  // Uploads run.model_path (if any) with patience; logs the outcome.
  void UploadModel(const JobRun& run);
  std::string PrepareResume();

  CoordinatorClient* client_;
  JobRunner* runner_;
  StopSignal* stop_;
  LeaseGrant lease_;
  SessionOptions options_;
  std::string job_dir_;
  std::unique_ptr<UsageMeter> own_meter_;     // when options_.meter is null
  std::unique_ptr<UsageMeter::Account> usage_;  // open from the start of Run()

  std::atomic<bool> cancel_requested_{false};
  std::atomic<bool> lease_lost_{false};

  std::mutex mu_;  // guards pending_, progress_, flush ordering
  std::mutex flush_mu_;  // one flush at a time keeps points in order
  std::deque<MetricSample> pending_;
  // The report being delivered (flush_mu_): resent unchanged, with its seq,
  // until acknowledged, so the coordinator can store it exactly once.
  std::vector<MetricSample> inflight_;
  int64_t inflight_seq_ = 0;
  int64_t next_seq_ = 1;
  ProgressReport progress_;

  std::mutex hb_mu_;
  std::condition_variable hb_cv_;
  bool hb_stop_ = false;
  std::thread heartbeat_thread_;
};

}  // namespace lcsweep::agent
