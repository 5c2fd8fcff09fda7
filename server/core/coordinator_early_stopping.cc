// Early stopping in the Coordinator: which sweeps are watched, the series
// their jobs report, and the stops the rules decide (EarlyStopper has the
// rules; this file moves the data in and the verdicts out).
#include <algorithm>
#include <set>

#include "common/logging.h"
#include "server/core/coordinator.h"

namespace lcsweep {

void Coordinator::WatchIfOptedIn(const SweepRecord& sweep) {
  if (std::optional<EarlyStopping> policy = EarlyStoppingOfSpec(sweep.spec_json))
    stopper_.Watch(sweep.id, *policy);
}

Status Coordinator::RestoreEarlyStoppingLocked() {
  for (const auto& [sweep_id, jobs] : sweep_jobs_) {
    const EarlyStopping* policy = stopper_.PolicyOf(sweep_id);
    if (policy == nullptr) continue;
    const bool open = std::any_of(jobs.begin(), jobs.end(), [&](int64_t id)
                                      LCSWEEP_NO_THREAD_SAFETY_ANALYSIS {  // runs under mu_
                                        return !IsTerminal(jobs_.at(id).state);
                                      });
    if (!open) continue;  // no decision left to make
    for (int64_t id : jobs) {
      if (jobs_.at(id).state == JobState::kQueued && jobs_.at(id).leases == 0) continue;
      ListMetricsRequest r;
      r.job_id = id;
      r.names = {policy->metric};
      r.page_size = 10000;
      for (;;) {
        LCSWEEP_ASSIGN_OR_RETURN(ListMetricsResult page, store_->ListMetrics(r));
        for (const MetricPoint& p : page.points) stopper_.Record(id, p.epoch, p.value);
        if (page.next_page_token.empty()) break;
        r.page_token = page.next_page_token;
      }
    }
  }
  return OkStatus();
}

void Coordinator::EarlyStopOnReportLocked(const JobRecord& job,
                                          const std::vector<MetricPoint>& points,
                                          std::vector<Change>* notices) {
  // Record for every watching sweep (other jobs' medians read this job)...
  bool recorded = false;
  int64_t epoch = -1;
  for (int64_t s : job.sweep_ids) {
    const EarlyStopping* p = stopper_.PolicyOf(s);
    if (p == nullptr) continue;
    for (const MetricPoint& point : points) {
      if (point.name != p->metric) continue;
      stopper_.Record(job.id, point.epoch, point.value);
      recorded = true;
      epoch = std::max(epoch, point.epoch);
    }
  }
  // ... but judge only a running job whose every sweep opted in.
  const EarlyStopping* policy = stopper_.PolicyOfJob(job);
  if (!recorded || policy == nullptr || job.state != JobState::kRunning) return;
  auto lookup = [this](int64_t id) LCSWEEP_NO_THREAD_SAFETY_ANALYSIS { return FindJob(id); };
  std::optional<std::string> verdict =
      stopper_.MedianVerdict(*policy, job, epoch, sweep_jobs_[job.sweep_ids.front()], lookup);
  if (!verdict) return;
  Trigger t = MakeTrigger(Trigger::Kind::kStop);
  t.text = *verdict;
  StatusOr<JobRecord> stopped = TransitAndCommit(job, t, notices);
  if (stopped.ok()) {
    Log()->info("event=early_stop {} {}", Kv("job", job.id), Kv("reason", *verdict));
  } else {
    // The job runs on; the next report asks again.
    Log()->warn("event=early_stop_not_committed {} {}", Kv("job", job.id),
                Kv("status", stopped.status().ToString()));
  }
}

void Coordinator::EarlyStopOnSuccess(int64_t job_id) {
  std::vector<Change> notices;
  {
    MutexLock lock(&mu_);
    const JobRecord* done = FindJob(job_id);
    if (done == nullptr) return;
    auto lookup = [this](int64_t id) LCSWEEP_NO_THREAD_SAFETY_ANALYSIS { return FindJob(id); };
    const Trigger stop = MakeTrigger(Trigger::Kind::kStop);
    WriteBatch batch;
    std::set<int64_t> stopped;  // a job in two such sweeps is stopped once
    for (int64_t s : done->sweep_ids) {
      const EarlyStopping* policy = stopper_.PolicyOf(s);
      if (policy == nullptr || policy->rule != EarlyStopping::Rule::kSeeds) continue;
      for (const EarlyStopper::ArmVerdict& v :
           stopper_.SeedsVerdicts(*policy, sweep_jobs_[s], lookup)) {
        for (int64_t id : sweep_jobs_[s]) {
          const JobRecord& j = jobs_.at(id);
          if (j.group_hash != v.group_hash || stopper_.PolicyOfJob(j) == nullptr) continue;
          if (j.state != JobState::kQueued && j.state != JobState::kRunning) continue;
          if (!stopped.insert(id).second) continue;
          Trigger t = stop;
          t.text = v.reason;
          StatusOr<Transition> tr = Transit(j, t);
          if (!tr.ok()) continue;
          AddTransition(*tr, &batch);
        }
      }
    }
    if (stopped.empty()) return;
    Status status = CommitAndApply(batch, &notices);
    if (status.ok()) {
      Log()->info("event=early_stop_arms {} stopped={}", Kv("after_job", job_id), stopped.size());
    } else {
      Log()->warn("event=early_stop_not_committed {} {}", Kv("after_job", job_id),
                  Kv("status", status.ToString()));
    }
  }
  Notify(std::move(notices));
}

}  // namespace lcsweep
