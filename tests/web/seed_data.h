// Seeds a Coordinator with a realistic LC-rate ablation for the dashboard's
// browser tests and benchmark, entirely through the Coordinator's public API
// (SubmitSweep, then a simulated worker: RegisterWorker, LeaseJob,
// ReportMetrics, CompleteJob / FailJob), so what the dashboard shows went
// through the same code paths as a real worker's reports.
//
// The result documents have the shape worker/train's RunJob writes
// ("evaluation": {clean, fgsm, pgd, corruptions, filter_stats}, "model":
// {parameters, macs_per_image}, "final", "throughput", ...).
// Figures are synthetic but shaped like the paper's (frozen LC gains with E).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "server/core/coordinator.h"

namespace lcsweep::webtest {

struct SeedOptions {
  std::string spec_json;            // the sweep to submit
  int64_t complete = -1;            // jobs to run to success (-1 = all but the ones below)
  int64_t fail = 0;                 // jobs to fail (non-retryable)
  int64_t keep_running = 0;         // jobs left running (leased, tokens returned)
  int64_t steps_per_job = 200;      // per-step points per curve of a completed job
  int64_t epochs = 10;              // per-epoch test accuracy points
  int64_t metric_batch = 50'000;    // points per ReportMetrics call
  std::string worker_name = "sim-worker";
};

struct RunningJob {
  int64_t job_id = 0;
  std::string token;
};

struct SeedSummary {
  int64_t sweep_id = 0;
  int64_t worker_id = 0;
  std::vector<int64_t> job_ids;      // every job of the sweep, expansion order
  std::vector<int64_t> succeeded;
  std::vector<int64_t> failed;
  std::vector<RunningJob> running;
  int64_t metric_points = 0;
  // The CPU-seconds the finished (succeeded and failed) attempts reported
  // (SeededUsage), for the cost view's expectations.
  double finished_cpu_seconds = 0;
};

// The usage a seeded job's final call reports: a GPU attempt whose figures
// are a function of the job id.
ResourceUsage SeededUsage(int64_t job_id);

// The synthetic result document of a job with this canonical config JSON.
std::string SyntheticResultJson(const std::string& config_json);

// Per-step training curves (train/loss, train/acc, train/lr, train/images_per_s)
// with `steps` points each, plus `epochs` test/acc and epoch.seconds points.
std::vector<MetricPoint> SyntheticCurves(const std::string& config_json, int64_t steps, int64_t epochs,
                                         int64_t first_step = 0);

StatusOr<SeedSummary> Seed(Coordinator* coordinator, const SeedOptions& options);

}  // namespace lcsweep::webtest
