// MemoryStore: an in-memory Store for unit tests of the coordinator core
// (LevelDB's in-memory Env idea). Commits are atomic under one mutex; a test
// can make the next commits fail with a given Status to check that the
// coordinator then changes nothing. Store-facing behaviour (persistence,
// migrations, disk full, locking) is tested against the real SqliteStore.
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <algorithm>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "server/core/store.h"

namespace lcsweep {

class MemoryStore final : public Store {
 public:
  StatusOr<StoreSnapshot> Load() override {
    std::lock_guard<std::mutex> lock(mu_);
    StoreSnapshot snap;
    for (const auto& [id, s] : sweeps_) snap.sweeps.push_back(s);
    for (const auto& [id, j] : jobs_) {
      JobRecord copy = j;
      copy.sweep_ids.clear();
      for (const auto& [sweep_id, job_id] : links_)
        if (job_id == id) copy.sweep_ids.push_back(sweep_id);
      std::sort(copy.sweep_ids.begin(), copy.sweep_ids.end());
      snap.jobs.push_back(copy);
    }
    for (const auto& [id, w] : workers_) snap.workers.push_back(w);
    for (const auto& [id, c] : checkpoints_) snap.checkpoints.push_back(c);
    snap.max_event_id = events_.empty() ? 0 : events_.back().id;
    return snap;
  }

  Status Commit(const WriteBatch& batch) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (fail_commits_ > 0) {
      --fail_commits_;
      return fail_status_;
    }
    ++commits_;
    for (const auto& s : batch.sweeps) sweeps_[s.id] = s;
    for (const auto& j : batch.jobs) jobs_[j.id] = j;
    for (const auto& l : batch.sweep_jobs)
      if (std::find(links_.begin(), links_.end(), l) == links_.end()) links_.push_back(l);
    for (const auto& w : batch.workers) workers_[w.id] = w;
    for (const auto& c : batch.checkpoints) checkpoints_[c.id] = c;
    for (int64_t id : batch.deleted_checkpoints) checkpoints_.erase(id);
    for (Event e : batch.events) {
      if (e.id == 0) e.id = events_.empty() ? 1 : events_.back().id + 1;
      events_.push_back(e);
    }
    for (const SupersedeMetrics& m : batch.superseded_metrics) {
      for (MetricPoint& p : metrics_) {
        if (p.job_id == m.job_id && p.step > m.after_step &&
            (m.attempt == 0 || p.attempt == m.attempt))
          p.superseded = true;
      }
    }
    if (!batch.metrics.empty()) ++metric_commits_;
    for (MetricPoint p : batch.metrics) {
      p.superseded = false;  // new points are live (Store contract)
      metrics_.push_back(std::move(p));
    }
    return OkStatus();
  }

  StatusOr<std::vector<MetricPoint>> ListMetrics(const ListMetricsRequest& r) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<MetricPoint> out;
    for (const auto& p : metrics_) {
      if (p.job_id != r.job_id) continue;
      if (r.attempt > 0 && p.attempt != r.attempt) continue;
      if (!r.include_superseded && p.superseded) continue;
      if (!r.names.empty() && std::find(r.names.begin(), r.names.end(), p.name) == r.names.end())
        continue;
      if (static_cast<int>(out.size()) >= r.limit) break;
      out.push_back(p);
    }
    return out;
  }

  StatusOr<std::vector<Event>> ListEvents(const ListEventsRequest& r) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Event> out;
    for (const auto& e : events_) {
      if (e.id <= r.after_id) continue;
      if (r.job_id != 0 && e.job_id != r.job_id) continue;
      if (r.sweep_id != 0 &&
          std::find(links_.begin(), links_.end(), std::make_pair(r.sweep_id, e.job_id)) ==
              links_.end())
        continue;
      if (static_cast<int>(out.size()) >= r.limit) break;
      out.push_back(e);
    }
    return out;
  }

  // The next `n` commits fail with `status` and change nothing.
  void FailCommits(int n, Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_commits_ = n;
    fail_status_ = std::move(status);
  }
  int64_t commits() const { std::lock_guard<std::mutex> l(mu_); return commits_; }
  int64_t metric_commits() const { std::lock_guard<std::mutex> l(mu_); return metric_commits_; }
  size_t metric_count() const { std::lock_guard<std::mutex> l(mu_); return metrics_.size(); }
  JobRecord stored_job(int64_t id) const { std::lock_guard<std::mutex> l(mu_); return jobs_.at(id); }

 private:
  mutable std::mutex mu_;
  std::map<int64_t, SweepRecord> sweeps_;
  std::map<int64_t, JobRecord> jobs_;
  std::vector<std::pair<int64_t, int64_t>> links_;
  std::map<int64_t, WorkerRecord> workers_;
  std::map<int64_t, CheckpointMeta> checkpoints_;
  std::vector<Event> events_;
  std::vector<MetricPoint> metrics_;
  int fail_commits_ = 0;
  Status fail_status_;
  int64_t commits_ = 0;
  int64_t metric_commits_ = 0;
};

}  // namespace lcsweep
