// Coordinator: the WorkerService methods (register, lease, heartbeat,
// metrics, checkpoints, complete / fail / release) and the lease reaper. See
// coordinator.h for the contracts and job_lifecycle.h for the transitions.
#include <algorithm>
#include <utility>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/logging.h"
#include "common/text_checks.h"
#include "server/core/coordinator.h"
#include "server/core/metric_batcher.h"

namespace lcsweep {

StatusOr<RegisterWorkerResult> Coordinator::RegisterWorker(const WorkerRecord& worker) {
  if (worker.name.empty())
    return InvalidArgumentError("worker name is empty: give each worker a stable name");
  std::vector<Change> notices;
  RegisterWorkerResult result;
  {
    MutexLock lock(&mu_);
    const int64_t now = clock_->NowMs();
    WorkerRecord rec = worker;
    rec.current_jobs.clear();
    rec.id = 0;
    for (const auto& [id, w] : workers_) {
      if (w.name == worker.name && w.host == worker.host) {
        rec.id = id;
        rec.registered_ms = w.registered_ms;
      }
    }
    if (rec.id == 0) {
      rec.id = next_worker_id_;
      rec.registered_ms = now;
    }
    if (rec.slots < 1) rec.slots = 1;
    rec.last_seen_ms = now;
    WriteBatch batch;
    batch.workers.push_back(rec);
    LCSWEEP_RETURN_IF_ERROR(CommitAndApply(batch, &notices));
    if (rec.id == next_worker_id_) ++next_worker_id_;
    device_ledger_.ForgetWorker(rec.id);
    for (const WorkerDevice& d : rec.devices) device_ledger_.Report(rec.id, d.name, d.free_memory_gb);
    result.worker_id = rec.id;
    result.lease_ttl_ms = options_.lease_ttl_ms;
    result.heartbeat_interval_ms = options_.heartbeat_interval_ms;
  }
  Notify(std::move(notices));
  return result;
}

std::vector<WorkerRecord> Coordinator::ListWorkers(bool include_dead) const {
  MutexLock lock(&mu_);
  const int64_t now = clock_->NowMs();
  std::map<int64_t, std::vector<int64_t>> current;
  for (const auto& [token, job_id] : job_by_token_) {
    const JobRecord& job = jobs_.at(job_id);
    if (job.state == JobState::kRunning) current[job.lease_owner].push_back(job_id);
  }
  std::vector<WorkerRecord> out;
  for (const auto& [id, worker] : workers_) {
    if (!include_dead && worker.last_seen_ms + options_.lease_ttl_ms < now) continue;
    WorkerRecord w = worker;
    w.current_jobs = current[id];
    std::sort(w.current_jobs.begin(), w.current_jobs.end());
    out.push_back(std::move(w));
  }
  return out;
}

StatusOr<std::optional<Lease>> Coordinator::LeaseJob(const LeaseRequest& request) {
  std::vector<Change> notices;
  std::optional<Lease> lease;
  {
    MutexLock lock(&mu_);
    auto wit = workers_.find(request.worker_id);
    if (wit == workers_.end())
      return NotFoundError("no worker with id " + std::to_string(request.worker_id) +
                           "; register it first (RegisterWorker)");
    Trigger t = MakeTrigger(Trigger::Kind::kLease);
    WorkerRecord worker = wit->second;
    worker.last_seen_ms = t.now_ms;
    WriteBatch batch;
    batch.workers.push_back(worker);  // last_seen
    LeaseRequest bounded = request;
    if (request.has_cuda && !request.device.empty()) {
      const std::optional<double> left = device_ledger_.Available(request.worker_id, request.device);
      if (left.has_value()) bounded.free_gpu_memory_gb = std::min(bounded.free_gpu_memory_gb, *left);
    }
    const std::optional<int64_t> best = queue_.Best(bounded, jobs_);
    int64_t resume_step = -1;
    if (best.has_value()) {
      t.token = NewToken();
      t.worker_id = request.worker_id;
      t.worker_name = worker.name;
      LCSWEEP_ASSIGN_OR_RETURN(Transition tr, Transit(jobs_.at(*best), t));
      tr.job.leases += 1;
      AddTransition(tr, &batch);
      batch.usage.push_back(UsageOfLease(tr.job, "running"));
      // The new attempt resumes after its checkpoint's step (or starts over
      // without one) and measures every later step again: the points stored
      // for those steps leave the live series, in the same transaction.
      // Points up to the checkpoint's step stay live: the worker stores its
      // metrics before it uploads a checkpoint (worker/agent/job_session.h).
      resume_step = ResumeStep(*best);
      batch.superseded_metrics.push_back({*best, resume_step, /*attempt=*/0});
    }
    LCSWEEP_RETURN_IF_ERROR(CommitAndApply(batch, &notices));
    if (best.has_value()) {
      lease_resume_steps_[*best].push_back(resume_step);
      const JobRecord& job = jobs_.at(*best);
      // A worker with a GPU runs "any" jobs there (LeaseQueue::Matches).
      if (request.has_cuda && job.requirements.device != "cpu")
        device_ledger_.Leased(request.worker_id, request.device, RequiredGpuMemoryGb(job.requirements));
      Lease l;
      l.job = job;
      l.token = job.lease_token;
      l.expiry_ms = job.lease_expiry_ms;
      l.heartbeat_interval_ms = options_.heartbeat_interval_ms;
      auto cit = checkpoints_.find(job.id);
      if (cit != checkpoints_.end() && !cit->second.empty()) l.checkpoint = cit->second.back();
      lease = std::move(l);
    }
  }
  Notify(std::move(notices));
  return lease;
}

StatusOr<HeartbeatResult> Coordinator::Heartbeat(const HeartbeatRequest& request) {
  std::vector<Change> notices;
  HeartbeatResult result;
  {
    MutexLock lock(&mu_);
    if (request.token.empty()) return InvalidArgumentError("lease token is empty");
    auto it = job_by_token_.find(request.token);
    if (it == job_by_token_.end()) return StaleToken();
    const JobRecord& current = jobs_.at(it->second);
    if (current.state == JobState::kCancelled || current.state == JobState::kStopped) {
      // Tell the worker once (a stop is a cancel to it); the token is dead
      // from now on.
      result.cancel_requested = true;
      LCSWEEP_ASSIGN_OR_RETURN(Transition t,
                               Transit(current, MakeTrigger(Trigger::Kind::kCancelAck)));
      WriteBatch batch;
      // The work done until the worker heard of the cancel was spent too.
      if (request.usage.has_value()) batch.usage.push_back(MeasuredUsage(current, *request.usage));
      AddTransition(t, &batch);
      LCSWEEP_RETURN_IF_ERROR(CommitAndApply(batch, &notices));
    } else {
      if (current.state != JobState::kRunning) return StaleToken();
      // A heartbeat is not a transition: the job stays running, its lease
      // and progress move on.
      JobRecord job = current;
      const int64_t now = clock_->NowMs();
      job.progress.epoch = request.progress.epoch;
      job.progress.step = request.progress.step;
      for (const auto& [name, value] : request.progress.metrics) job.progress.metrics[name] = value;
      job.progress.updated_ms = now;
      job.lease_expiry_ms = now + options_.lease_ttl_ms;
      job.updated_ms = now;
      result.expiry_ms = job.lease_expiry_ms;
      WriteBatch batch;
      batch.jobs.push_back(job);
      if (request.usage.has_value()) batch.usage.push_back(MeasuredUsage(job, *request.usage));
      auto wit = workers_.find(job.lease_owner);
      if (wit != workers_.end()) {
        WorkerRecord w = wit->second;
        w.last_seen_ms = now;
        for (const WorkerDevice& reported : request.devices) {
          for (WorkerDevice& d : w.devices) {
            if (d.name == reported.name) d.free_memory_gb = reported.free_memory_gb;
          }
        }
        batch.workers.push_back(w);
      }
      LCSWEEP_RETURN_IF_ERROR(CommitAndApply(batch, &notices));
      for (const WorkerDevice& reported : request.devices)
        device_ledger_.Report(job.lease_owner, reported.name, reported.free_memory_gb);
    }
  }
  Notify(std::move(notices));
  return result;
}

Status Coordinator::ReportMetrics(const std::string& token, std::vector<MetricPoint> points,
                                  int64_t seq) {
  if (static_cast<int64_t>(points.size()) > options_.max_metric_points_per_report)
    return InvalidArgumentError("too many metric points in one report (" +
                                std::to_string(points.size()) + " > " +
                                std::to_string(options_.max_metric_points_per_report) +
                                "); split it into smaller batches");
  if (seq < 0) return InvalidArgumentError("report seq must be >= 0 (0 = no deduplication)");
  MetricReport report;
  int attempt = 0;
  size_t leases_before = 0;
  {
    MutexLock lock(&mu_);
    LCSWEEP_ASSIGN_OR_RETURN(JobRecord job, LiveLease(token));
    attempt = job.attempt;
    auto lit = lease_resume_steps_.find(job.id);
    if (lit != lease_resume_steps_.end()) leases_before = lit->second.size();
    const int64_t now = clock_->NowMs();
    for (size_t i = 0; i < points.size(); ++i) {
      MetricPoint& p = points[i];
      if (p.name.empty())
        return InvalidArgumentError("metric point " + std::to_string(i) + " has an empty name");
      p.job_id = job.id;
      p.attempt = job.attempt;
      if (p.time_ms == 0) p.time_ms = now;
    }
    report.job_id = job.id;
    report.lease = job.leases;
    report.seq = seq;
  }
  if (points.empty()) return OkStatus();
  report.points = std::move(points);
  // Durable before we acknowledge: group commit with concurrent reporters.
  LCSWEEP_RETURN_IF_ERROR(batcher_->Append(report));
  const int64_t job_id = report.job_id;
  std::vector<Change> notices;
  {
    MutexLock lock(&mu_);
    SupersedeLateReport(job_id, attempt, leases_before);
    auto it = jobs_.find(job_id);
    // Last values for the live view (persisted with the next heartbeat).
    if (it != jobs_.end() && it->second.lease_token == token) {
      // The live view moves with every report, not only with heartbeats
      // (a job shorter than the heartbeat interval would show step 0).
      JobProgress& progress = it->second.progress;
      for (const MetricPoint& p : report.points) {
        progress.metrics[p.name] = p.value;
        progress.step = std::max(progress.step, p.step);
        progress.epoch = std::max(progress.epoch, p.epoch);
      }
      it->second.version = ++version_;
      EarlyStopOnReportLocked(it->second, report.points, &notices);
    } else {
      ++version_;
    }
    Change n;
    n.kind = Change::Kind::kMetrics;
    n.id = job_id;
    n.version = version_;
    n.points = std::move(report.points);
    notices.push_back(std::move(n));
  }
  Notify(std::move(notices));
  return OkStatus();
}

void Coordinator::SupersedeLateReport(int64_t job_id, int attempt, size_t leases_before) {
  auto it = lease_resume_steps_.find(job_id);
  if (it == lease_resume_steps_.end() || it->second.size() <= leases_before) return;
  // The job was leased again (its lease expired or failed) between the token
  // check and the commit of these points, so that lease's supersede did not
  // see them. Supersede them as it would have: the first lease after the
  // check resumed after step it->second[leases_before]. Only when the attempt
  // changed: a release keeps the attempt, and a worker releases only after
  // its reports were acknowledged, so no report of its can be this late.
  const auto jit = jobs_.find(job_id);
  if (jit == jobs_.end() || jit->second.attempt == attempt) return;
  WriteBatch fix;
  fix.superseded_metrics.push_back({job_id, it->second[leases_before], attempt});
  Status status = store_->Commit(fix);
  if (status.ok()) {
    Log()->warn("event=late_metric_report_superseded {} {}", Kv("job", job_id), Kv("attempt", attempt));
  } else {
    Log()->error("event=late_metric_report_not_superseded {} {} {}", Kv("job", job_id),
                 Kv("attempt", attempt), Kv("status", status.ToString()));
  }
}

StatusOr<JobRecord> Coordinator::ValidateLease(const std::string& token) const {
  MutexLock lock(&mu_);
  return LiveLease(token);
}

StatusOr<RecordCheckpointResult> Coordinator::RecordCheckpoint(const std::string& token,
                                                               CheckpointMeta meta) {
  std::vector<Change> notices;
  RecordCheckpointResult result;
  {
    MutexLock lock(&mu_);
    LCSWEEP_ASSIGN_OR_RETURN(JobRecord job, LiveLease(token));
    if (meta.path.empty()) return InvalidArgumentError("checkpoint path is empty");
    meta.id = next_checkpoint_id_;
    meta.job_id = job.id;
    meta.attempt = job.attempt;
    if (meta.time_ms == 0) meta.time_ms = clock_->NowMs();
    WriteBatch batch;
    batch.checkpoints.push_back(meta);
    const std::vector<CheckpointMeta>& existing = checkpoints_[job.id];
    const int64_t total = static_cast<int64_t>(existing.size()) + 1;
    for (int64_t i = 0; i + options_.keep_checkpoints < total; ++i) {
      result.pruned.push_back(existing[i]);
      batch.deleted_checkpoints.push_back(existing[i].id);
    }
    LCSWEEP_RETURN_IF_ERROR(CommitAndApply(batch, &notices));
    ++next_checkpoint_id_;
    result.recorded = meta;
  }
  Notify(std::move(notices));
  return result;
}

StatusOr<std::optional<CheckpointMeta>> Coordinator::LatestCheckpoint(const std::string& token) const {
  MutexLock lock(&mu_);
  LCSWEEP_ASSIGN_OR_RETURN(JobRecord job, LiveLease(token));
  auto it = checkpoints_.find(job.id);
  if (it == checkpoints_.end() || it->second.empty()) return std::optional<CheckpointMeta>();
  return std::optional<CheckpointMeta>(it->second.back());
}

StatusOr<JobRecord> Coordinator::TransitLease(const std::string& token, const Trigger& trigger,
                                              const std::optional<ResourceUsage>& usage) {
  std::vector<Change> notices;
  JobRecord out;
  {
    MutexLock lock(&mu_);
    LCSWEEP_ASSIGN_OR_RETURN(JobRecord job, LiveLease(token));
    LCSWEEP_ASSIGN_OR_RETURN(Transition t, Transit(job, trigger));
    WriteBatch batch;
    if (usage.has_value()) batch.usage.push_back(MeasuredUsage(job, *usage));
    AddTransition(t, &batch);
    LCSWEEP_RETURN_IF_ERROR(CommitAndApply(batch, &notices));
    out = jobs_.at(job.id);
  }
  Notify(std::move(notices));
  return out;
}

Status Coordinator::CompleteJob(const std::string& token, const std::string& result_json,
                                const std::optional<ResourceUsage>& usage) {
  LCSWEEP_RETURN_IF_ERROR(CheckResultJsonText(result_json));  // before any parse (common/limits.h)
  nlohmann::json parsed = nlohmann::json::parse(result_json, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object())
    return InvalidArgumentError("result_json must be a JSON object; the job stays running");
  Trigger t = MakeTrigger(Trigger::Kind::kComplete);
  t.text = parsed.dump();
  StatusOr<JobRecord> done = TransitLease(token, t, usage);
  if (!done.ok()) return done.status();
  EarlyStopOnSuccess(done->id);
  return OkStatus();
}

StatusOr<JobRecord> Coordinator::FailJob(const std::string& token, const std::string& error,
                                         bool retryable, const std::optional<ResourceUsage>& usage) {
  Trigger t = MakeTrigger(Trigger::Kind::kFail);
  t.text = error;
  t.retryable = retryable;
  return TransitLease(token, t, usage);
}

Status Coordinator::ReleaseJob(const std::string& token, const std::string& reason,
                               ReleaseKind kind, double memory_estimate_gb,
                               const std::optional<ResourceUsage>& usage) {
  Trigger t = MakeTrigger(Trigger::Kind::kRelease);
  t.text = reason;
  t.release = kind;
  t.memory_estimate_gb = memory_estimate_gb;
  return TransitLease(token, t, usage).status();
}

StatusOr<std::vector<int64_t>> Coordinator::ReapExpiredLeases() {
  std::vector<Change> notices;
  std::vector<int64_t> affected;
  {
    MutexLock lock(&mu_);
    const Trigger t = MakeTrigger(Trigger::Kind::kExpire);
    WriteBatch batch;
    for (const auto& [token, job_id] : job_by_token_) {
      const JobRecord& job = jobs_.at(job_id);
      if (job.lease_expiry_ms > t.now_ms) continue;
      LCSWEEP_ASSIGN_OR_RETURN(Transition tr, Transit(job, t));
      if (tr.has_event) affected.push_back(job_id);
      AddTransition(tr, &batch);
    }
    std::sort(affected.begin(), affected.end());
    LCSWEEP_RETURN_IF_ERROR(CommitAndApply(batch, &notices));
    if (!affected.empty()) Log()->warn("event=leases_reaped count={}", affected.size());
  }
  Notify(std::move(notices));
  return affected;
}

}  // namespace lcsweep
