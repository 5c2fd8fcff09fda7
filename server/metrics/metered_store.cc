#include "server/metrics/metered_store.h"

#include <chrono>
#include <string>

namespace lcsweep {

MeteredStore::MeteredStore(Store* inner, MetricsRegistry* registry) : inner_(inner) {
  commit_seconds_ = registry
                        ->AddHistogram("lcsweep_store_commit_seconds",
                                       "Time of one store commit (one SQLite transaction)", {},
                                       HistogramBuckets::Latency())
                        ->With({});
  commit_errors_ = registry
                       ->AddCounter("lcsweep_store_commit_errors_total",
                                    "Store commits that failed (nothing was applied)")
                       ->With({});
  jobs_ = registry->AddGauge("lcsweep_jobs", "Jobs in each state", {"state"});
  for (int s = 0; s < kNumJobStates; ++s) jobs_->With({JobStateName(static_cast<JobState>(s))});
  queue_depth_ = registry->AddGauge("lcsweep_queue_depth", "Queued jobs per priority", {"priority"});
  leases_granted_ = registry->AddCounter("lcsweep_leases_granted_total", "Leases handed out to workers")
                        ->With({});
  leases_lost_ = registry
                     ->AddCounter("lcsweep_leases_lost_total",
                                  "Leases lost because the worker went away (expired or released)")
                     ->With({});
  CounterFamily* retries = registry->AddCounter(
      "lcsweep_job_retries_total",
      "Jobs queued again: automatic (next attempt after a retryable failure or an expired lease) "
      "or user (a failed or cancelled job retried or resubmitted)",
      {"kind"});
  retries_automatic_ = retries->With({"automatic"});
  retries_user_ = retries->With({"user"});
  points_ingested_ = registry
                         ->AddCounter("lcsweep_metric_points_ingested_total",
                                      "Metric points committed from worker reports")
                         ->With({});
  checkpoint_bytes_ = registry->AddGauge("lcsweep_checkpoint_bytes", "Bytes of the checkpoints kept")
                          ->With({});
  checkpoint_bytes_recorded_ = registry
                                   ->AddCounter("lcsweep_checkpoint_bytes_recorded_total",
                                                "Bytes of every checkpoint recorded")
                                   ->With({});
}

MeteredStore::JobFacts MeteredStore::FactsOf(const JobRecord& job) {
  return JobFacts{job.state, job.priority, job.attempt, job.losses, job.leases};
}

void MeteredStore::CountJob(const JobFacts* before, const JobFacts& after) {
  if (before != nullptr) {
    jobs_->With({JobStateName(before->state)})->Add(-1);
    if (before->state == JobState::kQueued) queue_depth_->With({std::to_string(before->priority)})->Add(-1);
  }
  jobs_->With({JobStateName(after.state)})->Add(1);
  if (after.state == JobState::kQueued) queue_depth_->With({std::to_string(after.priority)})->Add(1);
}

StatusOr<StoreSnapshot> MeteredStore::Load() {
  StatusOr<StoreSnapshot> snap = inner_->Load();
  if (!snap.ok()) return snap;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [id, facts] : jobs_by_id_) {  // a second Load starts over
    jobs_->With({JobStateName(facts.state)})->Add(-1);
    if (facts.state == JobState::kQueued) queue_depth_->With({std::to_string(facts.priority)})->Add(-1);
  }
  jobs_by_id_.clear();
  checkpoint_sizes_.clear();
  for (const JobRecord& job : snap->jobs) {
    const JobFacts facts = FactsOf(job);
    jobs_by_id_[job.id] = facts;
    CountJob(nullptr, facts);
  }
  int64_t bytes = 0;
  for (const CheckpointMeta& c : snap->checkpoints) {
    checkpoint_sizes_[c.id] = c.size_bytes;
    bytes += c.size_bytes;
  }
  checkpoint_bytes_->Set(static_cast<double>(bytes));
  return snap;
}

Status MeteredStore::Commit(const WriteBatch& batch) {
  const auto start = std::chrono::steady_clock::now();
  Status st = inner_->Commit(batch);
  commit_seconds_->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  if (!st.ok()) {
    commit_errors_->Inc();
    return st;
  }
  size_t points = batch.metrics.size();
  for (const MetricReport& r : batch.metric_reports) points += r.points.size();
  points_ingested_->Inc(static_cast<double>(points));
  if (batch.jobs.empty() && batch.checkpoints.empty() && batch.deleted_checkpoints.empty()) return st;

  std::lock_guard<std::mutex> lock(mu_);
  for (const JobRecord& job : batch.jobs) {
    const JobFacts after = FactsOf(job);
    auto it = jobs_by_id_.find(job.id);
    if (it == jobs_by_id_.end()) {
      CountJob(nullptr, after);
      leases_granted_->Inc(static_cast<double>(after.leases));
      jobs_by_id_.emplace(job.id, after);
      continue;
    }
    const JobFacts before = it->second;
    CountJob(&before, after);
    if (after.leases > before.leases) leases_granted_->Inc(static_cast<double>(after.leases - before.leases));
    if (after.losses > before.losses) leases_lost_->Inc(after.losses - before.losses);
    if (after.state == JobState::kQueued) {
      if (before.state == JobState::kRunning && after.attempt > before.attempt) retries_automatic_->Inc();
      if (before.state == JobState::kFailed || before.state == JobState::kCancelled ||
          before.state == JobState::kStopped)
        retries_user_->Inc();
    }
    it->second = after;
  }
  int64_t delta = 0;
  for (const CheckpointMeta& c : batch.checkpoints) {
    auto [it, added] = checkpoint_sizes_.emplace(c.id, c.size_bytes);
    if (added) {
      delta += c.size_bytes;
      checkpoint_bytes_recorded_->Inc(static_cast<double>(c.size_bytes));
    } else {
      delta += c.size_bytes - it->second;
      it->second = c.size_bytes;
    }
  }
  for (int64_t id : batch.deleted_checkpoints) {
    auto it = checkpoint_sizes_.find(id);
    if (it == checkpoint_sizes_.end()) continue;
    delta -= it->second;
    checkpoint_sizes_.erase(it);
  }
  if (delta != 0) checkpoint_bytes_->Add(static_cast<double>(delta));
  return st;
}

}  // namespace lcsweep
