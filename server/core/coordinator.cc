// Coordinator: construction, the in-memory state and its one write path
// (commit, then apply, then notify), and watching. Submission is in
// coordinator_submit.cc, the other JobService methods in coordinator_jobs.cc,
// the WorkerService methods and the reaper in coordinator_workers.cc.
#include "server/core/coordinator.h"

#include <algorithm>
#include <random>
#include <utility>

#include <spdlog/spdlog.h>

#include "common/job_identity.h"
#include "common/logging.h"
#include "server/core/metric_batcher.h"
#include "server/core/rehash.h"

namespace lcsweep {
namespace {

Change MakeChange(Change::Kind kind, int64_t id, uint64_t version) {
  Change c;
  c.kind = kind;
  c.id = id;
  c.version = version;
  return c;
}

}  // namespace

std::shared_ptr<spdlog::logger> Coordinator::Log() {
  static std::shared_ptr<spdlog::logger> logger = GetLogger("coordinator");
  return logger;
}

// Commits at least this long extend every lease by their duration.
constexpr int64_t kLeaseGraceAfterStallMs = 250;

Status Coordinator::StaleToken() {
  return FailedPreconditionError(
      "unknown or stale lease token: the lease has moved on (expired, released, cancelled or "
      "finished); abandon the job");
}

// ---------------------------------------------------------------------------
// Construction

Coordinator::Coordinator(Store* store, Clock* clock, CoordinatorOptions options)
    : store_(store),
      clock_(clock),
      options_(options),
      batcher_(std::make_unique<MetricBatcher>(store)) {}

Coordinator::~Coordinator() { feed_.Close(); }

StatusOr<std::unique_ptr<Coordinator>> Coordinator::Create(Store* store, Clock* clock,
                                                           CoordinatorOptions options) {
  if (store == nullptr || clock == nullptr)
    return InvalidArgumentError("Coordinator needs a store and a clock");
  if (options.lease_ttl_ms <= 0) return InvalidArgumentError("lease_ttl_ms must be > 0");
  if (options.keep_checkpoints < 1) return InvalidArgumentError("keep_checkpoints must be >= 1");
  if (options.keep_models < 0) return InvalidArgumentError("keep_models must be >= 0 (0 = all)");
  if (options.max_lost_leases < 1) return InvalidArgumentError("max_lost_leases must be >= 1");
  std::unique_ptr<Coordinator> c(new Coordinator(store, clock, options));
  LCSWEEP_RETURN_IF_ERROR(c->LoadFromStore());
  return c;
}

Status Coordinator::MigrateHashes(int64_t from_version, std::vector<JobRecord>* jobs, int64_t* max_event_id) {
  const RehashReport report = RehashJobs(jobs);
  WriteBatch batch;
  batch.config_hash_version = kConfigHashVersion;
  std::map<int64_t, const JobRecord*> by_id;
  for (const JobRecord& j : *jobs) by_id[j.id] = &j;
  for (int64_t id : report.changed) batch.jobs.push_back(*by_id[id]);
  const int64_t now = clock_->NowMs();
  for (const auto& c : report.collisions) {
    for (int64_t id : c.job_ids) {
      std::string others;
      for (int64_t o : c.job_ids) {
        if (o != id) others += (others.empty() ? "" : ",") + std::to_string(o);
      }
      const JobRecord& j = *by_id[id];
      Event e;
      e.id = ++*max_event_id;  // the ids the coordinator hands out next start above these
      e.job_id = id;
      e.attempt = j.attempt;
      e.from_state = e.to_state = JobStateName(j.state);
      e.reason = "same experiment as job " + others + " under identity rule " + std::to_string(kConfigHashVersion) +
                 " (they differ only in run settings); both kept";
      e.time_ms = now;
      batch.events.push_back(std::move(e));
    }
    Log()->warn("event=config_hash_collision hash={} jobs={} (kept, not merged; the newest is reused)",
                c.hash.substr(0, 12), c.job_ids.size());
  }
  Status s = store_->Commit(batch);
  Log()->info("event=config_hashes_migrated from={} to={} jobs={} changed={} collisions={} unparsable={} {}",
              from_version, kConfigHashVersion, jobs->size(), report.changed.size(), report.collisions.size(),
              report.unparsable.size(), Kv("status", s.ToString()));
  return s;
}

Status Coordinator::LoadFromStore() {
  LCSWEEP_ASSIGN_OR_RETURN(StoreSnapshot snap, store_->Load());
  MutexLock lock(&mu_);
  // A chunked submission that a crash cut short (coordinator.h): undo it.
  // Its ids stay unused even if the undo fails (then the next start tries
  // again), so nothing new can collide with its rows.
  WriteBatch undo;
  for (const SweepRecord& s : snap.sweeps)
    if (!s.complete) undo.rolled_back_sweeps.push_back(s.id);
  if (!undo.empty()) {
    Status undone = store_->Commit(undo);
    Log()->warn("event=incomplete_submission_rolled_back sweeps={} {}",
                undo.rolled_back_sweeps.size(), Kv("status", undone.ToString()));
  }
  auto incomplete = [&](int64_t sweep_id) {
    return std::find(undo.rolled_back_sweeps.begin(), undo.rolled_back_sweeps.end(), sweep_id) !=
           undo.rolled_back_sweeps.end();
  };
  // Hashes of an older identity rule (server/core/rehash.h): rehash before
  // anything is matched by hash. The rolled-back jobs are gone from the store.
  if (snap.config_hash_version != kConfigHashVersion) {
    snap.jobs.erase(std::remove_if(snap.jobs.begin(), snap.jobs.end(),
                                   [&](const JobRecord& j) {
                                     return std::any_of(j.sweep_ids.begin(), j.sweep_ids.end(), incomplete);
                                   }),
                    snap.jobs.end());
    LCSWEEP_RETURN_IF_ERROR(MigrateHashes(snap.config_hash_version, &snap.jobs, &snap.max_event_id));
  }
  for (SweepRecord& s : snap.sweeps) {
    next_sweep_id_ = std::max(next_sweep_id_, s.id + 1);
    if (incomplete(s.id)) continue;
    sweep_jobs_[s.id];
    if (!s.request_id.empty()) sweep_by_request_[s.request_id] = s.id;
    WatchIfOptedIn(s);
    sweeps_[s.id] = std::move(s);
  }
  const int64_t now = clock_->NowMs();
  for (JobRecord& j : snap.jobs) {
    next_job_id_ = std::max(next_job_id_, j.id + 1);
    if (std::any_of(j.sweep_ids.begin(), j.sweep_ids.end(), incomplete)) continue;
    if (j.state == JobState::kRunning) {
      // Workers could not heartbeat while the coordinator was down: a restart
      // gives every lease one full period from now to come back, instead of
      // costing each running job a loss. (In memory only; the next heartbeat
      // persists a fresh expiry.)
      j.lease_expiry_ms = std::max(j.lease_expiry_ms, now + options_.lease_ttl_ms);
    }
    for (int64_t s : j.sweep_ids) sweep_jobs_[s].insert(j.id);
    ApplyJob(std::move(j), nullptr);
  }
  for (WorkerRecord& w : snap.workers) {
    next_worker_id_ = std::max(next_worker_id_, w.id + 1);
    workers_[w.id] = std::move(w);
  }
  for (CheckpointMeta& c : snap.checkpoints) {
    next_checkpoint_id_ = std::max(next_checkpoint_id_, c.id + 1);
    checkpoints_[c.job_id].push_back(std::move(c));
  }
  for (ModelMeta& m : snap.models) models_[m.job_id] = std::move(m);
  next_event_id_ = snap.max_event_id + 1;
  LCSWEEP_RETURN_IF_ERROR(RestoreEarlyStoppingLocked());
  Log()->info("event=loaded sweeps={} jobs={} queued={} leases={} workers={}", sweeps_.size(),
              jobs_.size(), queue_.queued(), job_by_token_.size(), workers_.size());
  return OkStatus();
}

// ---------------------------------------------------------------------------
// Helpers (mu_ held)

const JobRecord* Coordinator::FindJob(int64_t job_id) const {
  auto it = jobs_.find(job_id);
  return it == jobs_.end() ? nullptr : &it->second;
}

StatusOr<JobRecord> Coordinator::LiveLease(const std::string& token) const {
  if (token.empty()) return InvalidArgumentError("lease token is empty");
  auto it = job_by_token_.find(token);
  if (it == job_by_token_.end()) return StaleToken();
  const JobRecord& job = jobs_.at(it->second);
  if (job.state == JobState::kCancelled || job.state == JobState::kStopped)
    return FailedPreconditionError("job " + std::to_string(job.id) + " was " +
                                   JobStateName(job.state) + "; stop it and abandon the lease");
  if (job.state != JobState::kRunning || job.lease_token != token) return StaleToken();
  return job;
}

Event Coordinator::MakeEvent(const Transition& t) {
  Event e;
  e.id = next_event_id_++;
  e.job_id = t.job.id;
  e.attempt = t.job.attempt;
  e.from_state = t.event.from_state;
  e.to_state = JobStateName(t.job.state);
  e.reason = t.event.reason;
  e.worker_id = t.event.worker_id;
  e.time_ms = t.job.updated_ms;
  return e;
}

void Coordinator::AddTransition(const Transition& t, WriteBatch* batch) {
  if (t.has_event) batch->events.push_back(MakeEvent(t));
  batch->jobs.push_back(t.job);
  if (!t.lease_outcome.empty()) {
    UsageWrite end = UsageOfLease(t.job, t.lease_outcome);
    end.row.attempt = t.lease_attempt;
    end.row.worker_id = t.event.worker_id;
    end.row.ended_ms = t.job.updated_ms;
    end.outcome = true;
    batch->usage.push_back(std::move(end));
  }
}

UsageWrite Coordinator::UsageOfLease(const JobRecord& job, const std::string& outcome) {
  UsageWrite w;
  w.row.job_id = job.id;
  w.row.lease = job.leases;
  w.row.attempt = job.attempt;
  w.row.worker_id = job.lease_owner;
  w.row.outcome = outcome;
  w.row.started_ms = job.started_ms;
  return w;
}

UsageWrite Coordinator::MeasuredUsage(const JobRecord& job, const ResourceUsage& usage) {
  UsageWrite w = UsageOfLease(job, "running");
  w.row.usage = usage;
  w.figures = true;
  return w;
}

Trigger Coordinator::MakeTrigger(Trigger::Kind kind) const {
  Trigger t;
  t.kind = kind;
  t.now_ms = clock_->NowMs();
  t.lease_ttl_ms = options_.lease_ttl_ms;
  t.max_losses = options_.max_lost_leases;
  return t;
}

StatusOr<JobRecord> Coordinator::TransitAndCommit(const JobRecord& job, const Trigger& trigger,
                                                  std::vector<Change>* notices) {
  LCSWEEP_ASSIGN_OR_RETURN(Transition t, Transit(job, trigger));
  WriteBatch batch;
  AddTransition(t, &batch);
  LCSWEEP_RETURN_IF_ERROR(CommitAndApply(batch, notices));
  return jobs_.at(job.id);
}

Status Coordinator::CommitAndApply(const WriteBatch& batch, std::vector<Change>* notices) {
  if (batch.empty()) return OkStatus();
  LCSWEEP_RETURN_IF_ERROR(CommitToStore(batch));
  Apply(batch, notices);
  return OkStatus();
}

Status Coordinator::CommitToStore(const WriteBatch& batch) {
  const int64_t started = clock_->NowMs();
  Status status = store_->Commit(batch);
  if (!status.ok()) {
    Log()->error("event=commit_failed changed=nothing {}", Kv("status", status.ToString()));
    return status;
  }
  // Time the coordinator spent in one long commit (a slow disk, a large
  // batch) was time no worker could heartbeat: it does not count against
  // their leases, as with a restart (LoadFromStore).
  const int64_t stalled = clock_->NowMs() - started;
  if (stalled >= kLeaseGraceAfterStallMs) {
    for (const auto& [token, job_id] : job_by_token_) jobs_.at(job_id).lease_expiry_ms += stalled;
    Log()->warn("event=long_commit {} leases_extended={}", Kv("ms", stalled), job_by_token_.size());
  }
  return OkStatus();
}

void Coordinator::Apply(WriteBatch batch, std::vector<Change>* notices) {
  for (const SweepRecord& s : batch.sweeps) {
    WatchIfOptedIn(s);
    sweeps_[s.id] = s;
    sweep_jobs_[s.id];
    if (!s.request_id.empty()) sweep_by_request_[s.request_id] = s.id;
    ++version_;
    notices->push_back(MakeChange(Change::Kind::kSweep, s.id, version_));
  }
  for (const auto& [sweep_id, job_id] : batch.sweep_jobs) sweep_jobs_[sweep_id].insert(job_id);
  for (JobRecord& j : batch.jobs) ApplyJob(std::move(j), notices);
  for (const WorkerRecord& w : batch.workers) {
    workers_[w.id] = w;
    ++version_;
    notices->push_back(MakeChange(Change::Kind::kWorker, w.id, version_));
  }
  for (int64_t id : batch.deleted_checkpoints) {
    for (auto& [job_id, list] : checkpoints_) {
      list.erase(std::remove_if(list.begin(), list.end(),
                                [id](const CheckpointMeta& c) { return c.id == id; }),
                 list.end());
    }
  }
  for (const CheckpointMeta& c : batch.checkpoints) checkpoints_[c.job_id].push_back(c);
  for (const ModelMeta& m : batch.models) models_[m.job_id] = m;
  for (const Event& e : batch.events) {
    Change c = MakeChange(Change::Kind::kEvent, e.job_id, version_);
    c.event = e;
    notices->push_back(std::move(c));
  }
}

void Coordinator::ApplyJob(JobRecord job, std::vector<Change>* notices) {
  auto it = jobs_.find(job.id);
  const bool known = it != jobs_.end();
  if (known && !it->second.lease_token.empty()) job_by_token_.erase(it->second.lease_token);
  queue_.Update(known ? &it->second : nullptr, job);
  JobRecord& stored = jobs_[job.id];
  stored = std::move(job);  // moved: a large submission applies 100k records
  stored.version = ++version_;
  if (!stored.lease_token.empty()) job_by_token_[stored.lease_token] = stored.id;
  int64_t& newest = newest_by_hash_[stored.hash];
  newest = std::max(newest, stored.id);
  if (notices != nullptr) {
    Change c = MakeChange(Change::Kind::kJob, stored.id, version_);
    c.state = stored.state;
    c.sweep_ids = stored.sweep_ids;
    notices->push_back(std::move(c));
  }
}

int64_t Coordinator::ResumeStep(int64_t job_id) const {
  auto it = checkpoints_.find(job_id);
  if (it == checkpoints_.end() || it->second.empty()) return -1;
  return it->second.back().step;
}

SweepSummary Coordinator::Summarize(const SweepRecord& sweep) const {
  SweepSummary summary;
  summary.sweep = sweep;
  auto it = sweep_jobs_.find(sweep.id);
  if (it == sweep_jobs_.end()) return summary;
  for (int64_t id : it->second) {
    const JobRecord* job = FindJob(id);
    if (job == nullptr) continue;
    ++summary.total_jobs;
    ++summary.counts[static_cast<int>(job->state)];
  }
  return summary;
}

std::string Coordinator::NewToken() {
  // 128 bits from the OS entropy source (std::random_device reads
  // /dev/urandom on Linux): unguessable, fresh per lease.
  static std::random_device rd;
  static const char* kHex = "0123456789abcdef";
  std::string token;
  token.reserve(32);
  for (int i = 0; i < 4; ++i) {
    uint32_t v = rd();
    for (int k = 0; k < 8; ++k) token.push_back(kHex[(v >> (4 * k)) & 0xf]);
  }
  return token;
}

void Coordinator::Notify(std::vector<Change> notices) { feed_.Publish(std::move(notices)); }

// ---------------------------------------------------------------------------
// Watching

uint64_t Coordinator::Version() const {
  MutexLock lock(&mu_);
  return version_;
}

}  // namespace lcsweep
