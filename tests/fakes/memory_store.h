// MemoryStore: an in-memory Store for unit tests of the coordinator core
// (LevelDB's in-memory Env idea). Commits are atomic under one mutex; a test
// can make the next commits fail with a given Status to check that the
// coordinator then changes nothing. Store-facing behaviour (persistence,
// migrations, disk full, locking) is tested against the real SqliteStore.
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "common/job_identity.h"
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
    for (const auto& [id, m] : models_) snap.models.push_back(m);
    snap.max_event_id = events_.empty() ? 0 : events_.back().id;
    snap.config_hash_version = config_hash_version_;
    return snap;
  }

  Status Commit(const WriteBatch& batch) override {
    if (during_commit) during_commit();  // e.g. a clock that moves on while a commit is slow
    std::lock_guard<std::mutex> lock(mu_);
    if (fail_commits_ > 0) {
      --fail_commits_;
      return fail_status_;
    }
    for (const MetricReport& r : batch.metric_reports)
      if (refused_job_ != 0 && r.job_id == refused_job_)
        return InternalError("a constraint refused a point of job " + std::to_string(r.job_id));
    for (int64_t id : batch.rolled_back_sweeps) {
      auto it = sweeps_.find(id);
      if (it == sweeps_.end() || it->second.complete)
        return FailedPreconditionError("refusing to roll back sweep " + std::to_string(id));
    }
    ++commits_;
    for (int64_t id : batch.rolled_back_sweeps) {  // checked above: all incomplete
      std::set<int64_t> created;
      for (const auto& [sweep_id, job_id] : links_)
        if (sweep_id == id) created.insert(job_id);
      for (int64_t job_id : created) jobs_.erase(job_id);
      links_.erase(std::remove_if(links_.begin(), links_.end(),
                                  [id](const auto& l) { return l.first == id; }),
                   links_.end());
      events_.erase(std::remove_if(events_.begin(), events_.end(),
                                   [&](const Event& e) { return created.count(e.job_id) > 0; }),
                    events_.end());
      sweeps_.erase(id);
    }
    if (batch.config_hash_version > 0) config_hash_version_ = batch.config_hash_version;
    for (const auto& s : batch.sweeps) sweeps_[s.id] = s;
    for (const auto& j : batch.jobs) jobs_[j.id] = j;
    for (const UsageWrite& u : batch.usage) {  // the upsert of store.h, field by field
      auto [it, created] = usage_.try_emplace({u.row.job_id, u.row.lease}, u.row);
      AttemptUsage& row = it->second;
      if (created) {
        row.ended_ms = 0;
        row.measured = false;
        row.usage = ResourceUsage();
      }
      if (u.outcome) {
        row.outcome = u.row.outcome;
        row.ended_ms = u.row.ended_ms;
      }
      if (u.figures) {
        row.usage = u.row.usage;
        row.measured = true;
      }
    }
    for (const auto& l : batch.sweep_jobs)
      if (std::find(links_.begin(), links_.end(), l) == links_.end()) links_.push_back(l);
    for (const auto& w : batch.workers) workers_[w.id] = w;
    for (const auto& c : batch.checkpoints) checkpoints_[c.id] = c;
    for (int64_t id : batch.deleted_checkpoints) checkpoints_.erase(id);
    for (const auto& m : batch.models) models_[m.job_id] = m;
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
    if (!batch.metrics.empty() || !batch.metric_reports.empty()) ++metric_commits_;
    auto append = [&](const std::vector<MetricPoint>& points) {
      for (MetricPoint p : points) {
        p.superseded = false;  // new points are live (Store contract)
        metrics_.push_back(std::move(p));
      }
    };
    append(batch.metrics);
    for (const MetricReport& r : batch.metric_reports) {
      if (r.seq != 0 && !reports_.insert({r.job_id, r.lease, r.seq}).second) continue;
      append(r.points);
    }
    return OkStatus();
  }

  // Same order, dedupe and paging as SqliteStore, by brute force; the page
  // token is the index of the next point in that order.
  StatusOr<ListMetricsResult> ListMetrics(const ListMetricsRequest& r) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<size_t> order;
    for (size_t i = 0; i < metrics_.size(); ++i) {
      const MetricPoint& p = metrics_[i];
      if (p.job_id != r.job_id || p.step < r.min_step || p.step > r.max_step) continue;
      if (r.attempt > 0 && p.attempt != r.attempt) continue;
      if (!r.names.empty() && std::find(r.names.begin(), r.names.end(), p.name) == r.names.end())
        continue;
      if (!r.include_superseded) {
        if (p.superseded) continue;
        bool later = false;
        for (size_t k = i + 1; k < metrics_.size(); ++k) {
          const MetricPoint& q = metrics_[k];
          later = later || (q.job_id == p.job_id && q.step == p.step && q.name == p.name &&
                            !q.superseded);
        }
        if (later) continue;
      }
      order.push_back(i);
    }
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      const MetricPoint& x = metrics_[a];
      const MetricPoint& y = metrics_[b];
      return x.step != y.step ? x.step < y.step : x.name < y.name;
    });
    size_t start = r.page_token.empty() ? 0 : std::stoul(r.page_token);
    const size_t page = static_cast<size_t>(std::max(1, r.page_size));
    ListMetricsResult out;
    for (size_t k = start; k < order.size() && out.points.size() < page; ++k)
      out.points.push_back(metrics_[order[k]]);
    if (start + page < order.size()) out.next_page_token = std::to_string(start + page);
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

  StatusOr<std::vector<AttemptUsage>> ListUsage(const ListUsageRequest& r) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<AttemptUsage> out;
    for (const auto& [key, row] : usage_) {
      if (key <= std::make_pair(r.after_job_id, r.after_lease)) continue;
      if (r.job_id != 0 && row.job_id != r.job_id) continue;
      if (r.sweep_id != 0 &&
          std::find(links_.begin(), links_.end(), std::make_pair(r.sweep_id, row.job_id)) ==
              links_.end())
        continue;
      if (static_cast<int>(out.size()) >= r.limit) break;
      out.push_back(row);
    }
    return out;
  }

  // The next `n` commits fail with `status` and change nothing.
  // The identity rule the stored hashes follow (a new store: the current one).
  void set_config_hash_version(int64_t v) {
    std::lock_guard<std::mutex> lock(mu_);
    config_hash_version_ = v;
  }
  int64_t config_hash_version() {
    std::lock_guard<std::mutex> lock(mu_);
    return config_hash_version_;
  }

  void FailCommits(int n, Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_commits_ = n;
    fail_status_ = std::move(status);
  }
  // Called at the start of every Commit (set before the coordinator runs).
  std::function<void()> during_commit;

  // Every commit holding a metric report of `job_id` fails (as a store
  // constraint would), whatever else it holds.
  void RefuseMetricsOfJob(int64_t job_id) {
    std::lock_guard<std::mutex> lock(mu_);
    refused_job_ = job_id;
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
  std::map<int64_t, ModelMeta> models_;  // by job id
  std::vector<Event> events_;
  std::map<std::pair<int64_t, int64_t>, AttemptUsage> usage_;  // by (job, lease)
  int64_t config_hash_version_ = kConfigHashVersion;
  std::vector<MetricPoint> metrics_;
  std::set<std::tuple<int64_t, int64_t, int64_t>> reports_;  // (job, lease, seq) stored
  int fail_commits_ = 0;
  int64_t refused_job_ = 0;
  Status fail_status_;
  int64_t commits_ = 0;
  int64_t metric_commits_ = 0;
};

}  // namespace lcsweep
