// MeteredStore: a Store decorator that feeds the coordinator's Prometheus
// metrics (common/metrics_registry.h) from what is committed, so the
// coordinator core needs no metrics code: every change of a job, a lease or
// a checkpoint passes through Store::Commit before it takes effect
// (server/core/store.h), and the snapshot Load() returns is the state the
// counts start from.
//
// What it exports (names as registered; see docs/metrics.md):
//   lcsweep_store_commit_seconds             histogram of Commit() latency (SQLite transaction)
//   lcsweep_store_commit_errors_total        commits that failed (nothing applied)
//   lcsweep_jobs{state}                      jobs in each state
//   lcsweep_queue_depth{priority}            queued jobs per priority (0 once emptied)
//   lcsweep_leases_granted_total             leases handed out (JobRecord::leases grew)
//   lcsweep_leases_lost_total                leases lost to expiry or release (JobRecord::losses grew)
//   lcsweep_job_retries_total{kind}          automatic: running -> queued with the next attempt
//                                            (a retryable failure or an expired lease);
//                                            user: failed/cancelled -> queued (retry, resubmit)
//   lcsweep_metric_points_ingested_total     metric points in committed batches (a resent
//                                            report the store deduplicates counts again)
//   lcsweep_checkpoint_bytes                 bytes of the checkpoints kept now
//   lcsweep_checkpoint_bytes_recorded_total  bytes of every checkpoint recorded
// Only committed batches count: a failed commit changes no metric but the
// error counter and the latency histogram.
//
// Ownership: does not own `inner` or `registry`; both must outlive it.
// Thread-safety: as the Store contract; the bookkeeping takes a mutex of its
// own after the inner commit returned (a few map operations per job).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>

#include "common/metrics_registry.h"
#include "server/core/store.h"

namespace lcsweep {

class MeteredStore final : public Store {
 public:
  MeteredStore(Store* inner, MetricsRegistry* registry);

  StatusOr<StoreSnapshot> Load() override;
  Status Commit(const WriteBatch& batch) override;
  StatusOr<ListMetricsResult> ListMetrics(const ListMetricsRequest& request) override {
    return inner_->ListMetrics(request);
  }
  StatusOr<std::vector<Event>> ListEvents(const ListEventsRequest& request) override {
    return inner_->ListEvents(request);
  }
  StatusOr<std::vector<AttemptUsage>> ListUsage(const ListUsageRequest& request) override {
    return inner_->ListUsage(request);
  }

 private:
  // What the metrics need of a job.
  struct JobFacts {
    JobState state = JobState::kQueued;
    int priority = 0;
    int attempt = 1;
    int losses = 0;
    int64_t leases = 0;
  };
  static JobFacts FactsOf(const JobRecord& job);
  // Moves the job gauges from `before` (nullptr: a new job) to `after`.
  void CountJob(const JobFacts* before, const JobFacts& after);

  Store* const inner_;
  Histogram* commit_seconds_;
  Counter* commit_errors_;
  GaugeFamily* jobs_;
  GaugeFamily* queue_depth_;
  Counter* leases_granted_;
  Counter* leases_lost_;
  Counter* retries_automatic_;
  Counter* retries_user_;
  Counter* points_ingested_;
  Gauge* checkpoint_bytes_;
  Counter* checkpoint_bytes_recorded_;

  std::mutex mu_;
  std::unordered_map<int64_t, JobFacts> jobs_by_id_;        // guarded by mu_
  std::unordered_map<int64_t, int64_t> checkpoint_sizes_;   // id -> bytes; guarded by mu_
};

}  // namespace lcsweep
