// Coordinator: job lifecycle, queue, leases and dedupe (see coordinator.h).
#include "server/core/coordinator.h"

#include <algorithm>
#include <random>
#include <utility>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/job_config_json.h"
#include "common/logging.h"
#include "common/sweep_spec.h"
#include "common/text_checks.h"
#include "server/core/metric_batcher.h"
#include "server/core/results.h"

namespace lcsweep {
namespace {

std::shared_ptr<spdlog::logger> Log() {
  static std::shared_ptr<spdlog::logger> logger = GetLogger("coordinator");
  return logger;
}

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;
constexpr int kDefaultEventLimit = 500;
constexpr int kMaxEventLimit = 5000;

Status StaleToken() {
  return FailedPreconditionError(
      "unknown or stale lease token: the lease has moved on (expired, released, cancelled or "
      "finished); abandon the job");
}

StatusOr<int> PageSize(int requested) {
  if (requested < 0 || requested > kMaxPageSize)
    return InvalidArgumentError("page_size must be in [0, " + std::to_string(kMaxPageSize) +
                                "] (0 = " + std::to_string(kDefaultPageSize) + "); got " +
                                std::to_string(requested));
  return requested == 0 ? kDefaultPageSize : requested;
}

// Page tokens are the decimal id of the last item of the previous page.
StatusOr<int64_t> ParsePageToken(const std::string& token) {
  if (token.empty()) return int64_t{0};
  if (token.size() > 18 || !std::all_of(token.begin(), token.end(), ::isdigit))
    return InvalidArgumentError("invalid page_token \"" + token +
                                "\": pass the next_page_token of the previous page unchanged");
  return static_cast<int64_t>(std::stoll(token));
}

void AddSweepId(JobRecord* job, int64_t sweep_id) {
  auto it = std::lower_bound(job->sweep_ids.begin(), job->sweep_ids.end(), sweep_id);
  if (it == job->sweep_ids.end() || *it != sweep_id) job->sweep_ids.insert(it, sweep_id);
}

}  // namespace

// ---------------------------------------------------------------------------
// Construction

Coordinator::Coordinator(Store* store, Clock* clock, CoordinatorOptions options)
    : store_(store),
      clock_(clock),
      options_(options),
      batcher_(std::make_unique<MetricBatcher>(store)) {}

Coordinator::~Coordinator() { Shutdown(); }

StatusOr<std::unique_ptr<Coordinator>> Coordinator::Create(Store* store, Clock* clock,
                                                           CoordinatorOptions options) {
  if (store == nullptr || clock == nullptr)
    return InvalidArgumentError("Coordinator needs a store and a clock");
  if (options.lease_ttl_ms <= 0) return InvalidArgumentError("lease_ttl_ms must be > 0");
  if (options.keep_checkpoints < 1) return InvalidArgumentError("keep_checkpoints must be >= 1");
  std::unique_ptr<Coordinator> c(new Coordinator(store, clock, options));
  LCSWEEP_RETURN_IF_ERROR(c->LoadFromStore());
  return c;
}

Status Coordinator::LoadFromStore() {
  LCSWEEP_ASSIGN_OR_RETURN(StoreSnapshot snap, store_->Load());
  std::lock_guard<std::mutex> lock(mu_);
  for (SweepRecord& s : snap.sweeps) {
    next_sweep_id_ = std::max(next_sweep_id_, s.id + 1);
    sweep_jobs_[s.id];
    sweeps_[s.id] = std::move(s);
  }
  const int64_t now = clock_->NowMs();
  for (JobRecord& j : snap.jobs) {
    next_job_id_ = std::max(next_job_id_, j.id + 1);
    if (j.state == JobState::kRunning) {
      // Workers could not heartbeat while the coordinator was down: a restart
      // gives every lease one full period from now to come back, instead of
      // costing each running job an attempt. (In memory only; the next
      // heartbeat persists a fresh expiry.)
      j.lease_expiry_ms = std::max(j.lease_expiry_ms, now + options_.lease_ttl_ms);
    }
    for (int64_t s : j.sweep_ids) sweep_jobs_[s].insert(j.id);
    ApplyJob(j, nullptr);
  }
  for (WorkerRecord& w : snap.workers) {
    next_worker_id_ = std::max(next_worker_id_, w.id + 1);
    workers_[w.id] = std::move(w);
  }
  for (CheckpointMeta& c : snap.checkpoints) {
    next_checkpoint_id_ = std::max(next_checkpoint_id_, c.id + 1);
    checkpoints_[c.job_id].push_back(std::move(c));
  }
  next_event_id_ = snap.max_event_id + 1;
  Log()->info("event=loaded sweeps={} jobs={} queued={} leases={} workers={}", sweeps_.size(),
              jobs_.size(), queued_.size(), job_by_token_.size(), workers_.size());
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
  if (job.state == JobState::kCancelled)
    return FailedPreconditionError("job " + std::to_string(job.id) +
                                   " was cancelled; stop it and abandon the lease");
  if (job.state != JobState::kRunning || job.lease_token != token) return StaleToken();
  return job;
}

Event Coordinator::MakeEvent(const JobRecord& job, const std::string& from_state,
                             const std::string& reason, int64_t worker_id) {
  Event e;
  e.id = next_event_id_++;
  e.job_id = job.id;
  e.attempt = job.attempt;
  e.from_state = from_state;
  e.to_state = JobStateName(job.state);
  e.reason = reason;
  e.worker_id = worker_id;
  e.time_ms = clock_->NowMs();
  return e;
}

Status Coordinator::CommitAndApply(const WriteBatch& batch, std::vector<ChangeNotice>* notices) {
  if (batch.empty()) return OkStatus();
  Status status = store_->Commit(batch);
  if (!status.ok()) {
    Log()->error("event=commit_failed changed=nothing {}", Kv("status", status.ToString()));
    return status;
  }
  for (const SweepRecord& s : batch.sweeps) {
    sweeps_[s.id] = s;
    sweep_jobs_[s.id];
    ++version_;
    notices->push_back({ChangeNotice::Kind::kSweep, s.id, version_, std::nullopt, std::nullopt, {}});
  }
  for (const auto& [sweep_id, job_id] : batch.sweep_jobs) sweep_jobs_[sweep_id].insert(job_id);
  for (const JobRecord& j : batch.jobs) ApplyJob(j, notices);
  for (const WorkerRecord& w : batch.workers) {
    workers_[w.id] = w;
    ++version_;
    notices->push_back({ChangeNotice::Kind::kWorker, w.id, version_, std::nullopt, std::nullopt, {}});
  }
  for (int64_t id : batch.deleted_checkpoints) {
    for (auto& [job_id, list] : checkpoints_) {
      list.erase(std::remove_if(list.begin(), list.end(),
                                [id](const CheckpointMeta& c) { return c.id == id; }),
                 list.end());
    }
  }
  for (const CheckpointMeta& c : batch.checkpoints) checkpoints_[c.job_id].push_back(c);
  for (const Event& e : batch.events)
    notices->push_back({ChangeNotice::Kind::kEvent, e.job_id, version_, std::nullopt, e, {}});
  return OkStatus();
}

void Coordinator::ApplyJob(const JobRecord& job, std::vector<ChangeNotice>* notices) {
  auto it = jobs_.find(job.id);
  if (it != jobs_.end()) {
    const JobRecord& old = it->second;
    if (old.state == JobState::kQueued) {
      queued_.erase({-old.priority, old.id});
      for (int64_t s : old.sweep_ids) {
        auto q = queued_by_sweep_.find(s);
        if (q == queued_by_sweep_.end()) continue;
        q->second.erase({-old.priority, old.id});
        if (q->second.empty()) queued_by_sweep_.erase(q);
      }
    }
    if (old.state == JobState::kRunning)
      for (int64_t s : old.sweep_ids) --running_per_sweep_[s];
    if (!old.lease_token.empty()) job_by_token_.erase(old.lease_token);
  }
  JobRecord& stored = jobs_[job.id];
  stored = job;
  stored.version = ++version_;
  if (stored.state == JobState::kQueued) {
    queued_.insert({-stored.priority, stored.id});
    for (int64_t s : stored.sweep_ids) queued_by_sweep_[s].insert({-stored.priority, stored.id});
  }
  if (stored.state == JobState::kRunning)
    for (int64_t s : stored.sweep_ids) ++running_per_sweep_[s];
  if (!stored.lease_token.empty()) job_by_token_[stored.lease_token] = stored.id;
  int64_t& newest = newest_by_hash_[stored.hash];
  newest = std::max(newest, stored.id);
  if (notices != nullptr)
    notices->push_back({ChangeNotice::Kind::kJob, stored.id, version_, stored, std::nullopt, {}});
}

int64_t Coordinator::RunningInSweeps(const JobRecord& job) const {
  int64_t least = INT64_MAX;
  for (int64_t s : job.sweep_ids) {
    auto it = running_per_sweep_.find(s);
    least = std::min(least, it == running_per_sweep_.end() ? int64_t{0} : it->second);
  }
  return least == INT64_MAX ? 0 : least;
}

bool Coordinator::Matches(const JobRecord& job, const LeaseRequest& request) const {
  const JobRequirements& r = job.requirements;
  const bool cuda_ok = request.has_cuda && request.free_gpu_memory_gb >= r.min_gpu_memory_gb;
  if (r.device == "cpu") return request.has_cpu;
  if (r.device == "cuda") return cuda_ok;
  // "any": a GPU when one fits, else the CPU.
  return cuda_ok || request.has_cpu;
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

void Coordinator::Notify(const std::vector<ChangeNotice>& notices) {
  if (notices.empty()) return;
  changed_.notify_all();
  std::lock_guard<std::mutex> lock(listeners_mu_);
  for (const ChangeNotice& n : notices)
    for (auto& [id, listener] : listeners_) listener(n);
}

// ---------------------------------------------------------------------------
// JobService

StatusOr<SubmitSweepResult> Coordinator::SubmitSweep(const SubmitSweepRequest& request,
                                                     std::vector<FieldError>* field_errors) {
  LCSWEEP_RETURN_IF_ERROR(CheckSpecJsonText(request.spec_json));  // before any parse (common/limits.h)
  SweepLimits limits;
  limits.max_jobs = static_cast<size_t>(options_.max_sweep_jobs);
  SweepParseResult parsed = ParseSweepTextWithErrors(request.spec_json, limits);
  if (!parsed.errors.empty() || !parsed.sweep.has_value()) {
    if (field_errors != nullptr) *field_errors = parsed.errors;
    return FieldErrorsToStatus(parsed.errors, "invalid sweep spec:");
  }
  Sweep& sweep = *parsed.sweep;
  const int priority = static_cast<int>(request.priority.value_or(sweep.priority));

  std::vector<ChangeNotice> notices;
  SubmitSweepResult result;
  result.dry_run = request.dry_run;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = clock_->NowMs();
    WriteBatch batch;
    SweepRecord rec;
    rec.id = request.dry_run ? 0 : next_sweep_id_;
    rec.name = sweep.name;
    rec.description = sweep.description;
    rec.priority = priority;
    rec.max_attempts = static_cast<int>(sweep.max_attempts);
    rec.tags = sweep.tags;
    nlohmann::json spec = sweep.spec;
    if (request.priority.has_value() && spec.is_object()) spec["priority"] = priority;
    rec.spec_json = spec.dump();
    rec.created_ms = now;
    batch.sweeps.push_back(rec);

    // Jobs changed or created by this submission, by id (a job may appear
    // once only in the batch).
    std::map<int64_t, JobRecord> touched;
    int64_t next_id = next_job_id_;
    for (const ExpandedJob& ej : sweep.jobs) {
      SubmittedJob sj;
      sj.hash = ej.hash;
      if (request.dry_run) sj.config_json = ej.canonical_json;
      auto newest = newest_by_hash_.find(ej.hash);
      const JobRecord* existing = newest == newest_by_hash_.end() ? nullptr : FindJob(newest->second);
      const bool finished = existing != nullptr && IsTerminal(existing->state);
      if (existing != nullptr && !(request.force && finished)) {
        JobRecord job = touched.count(existing->id) ? touched[existing->id] : *existing;
        const std::string from = JobStateName(job.state);
        AddSweepId(&job, rec.id);
        switch (job.state) {
          case JobState::kQueued:
          case JobState::kRunning:
            sj.outcome = SubmitOutcome::kReused;
            if (job.state == JobState::kQueued) job.priority = std::max(job.priority, priority);
            break;
          case JobState::kSucceeded:
            sj.outcome = SubmitOutcome::kReusedResult;
            sj.result_json = job.result_json;
            break;
          case JobState::kFailed:
          case JobState::kCancelled:
            sj.outcome = SubmitOutcome::kRequeued;
            job.state = JobState::kQueued;
            job.attempt += 1;
            job.max_attempts = job.attempt - 1 + rec.max_attempts;
            job.priority = priority;
            job.lease_token.clear();
            job.lease_expiry_ms = 0;
            job.error.clear();
            job.retryable = false;
            job.queued_ms = now;
            if (!request.dry_run)
              batch.events.push_back(MakeEvent(
                  job, from, "resubmitted in sweep " + std::to_string(rec.id), 0));
            break;
        }
        job.updated_ms = now;
        sj.job_id = request.dry_run ? 0 : job.id;
        sj.state = job.state;
        if (!request.dry_run) batch.sweep_jobs.push_back({rec.id, job.id});
        touched[job.id] = std::move(job);
        ++result.jobs_reused;
      } else {
        JobRecord job;
        job.id = next_id++;
        AddSweepId(&job, rec.id);
        job.config_json = ej.canonical_json;
        job.hash = ej.hash;
        job.group_hash = ej.group_hash;
        nlohmann::json axes = nlohmann::json::object();
        for (const auto& [path, value] : ej.axes) axes[path] = value;
        job.axes_json = axes.dump();
        job.state = JobState::kQueued;
        job.priority = priority;
        job.attempt = 1;
        job.max_attempts = rec.max_attempts;
        job.requirements.device = ej.config.resources.device;
        job.requirements.min_gpu_memory_gb = ej.config.resources.min_gpu_memory_gb;
        job.created_ms = job.queued_ms = job.updated_ms = now;
        sj.outcome = existing != nullptr ? SubmitOutcome::kForced : SubmitOutcome::kCreated;
        sj.state = JobState::kQueued;
        sj.job_id = request.dry_run ? 0 : job.id;
        if (!request.dry_run) {
          batch.sweep_jobs.push_back({rec.id, job.id});
          batch.events.push_back(MakeEvent(
              job, "",
              (existing != nullptr ? "forced re-run of job " + std::to_string(existing->id) +
                                         " in sweep "
                                   : std::string("submitted in sweep ")) +
                  std::to_string(rec.id),
              0));
        }
        touched[job.id] = std::move(job);
        // Identical expansions inside one submission were collapsed by the
        // parser, so no later job of this loop has this hash.
        ++result.jobs_created;
      }
      result.jobs.push_back(std::move(sj));
    }
    if (request.dry_run) return result;
    for (auto& [id, job] : touched) batch.jobs.push_back(job);
    LCSWEEP_RETURN_IF_ERROR(CommitAndApply(batch, &notices));
    next_sweep_id_ = rec.id + 1;
    next_job_id_ = next_id;
    result.sweep_id = rec.id;
    Log()->info("event=sweep_submitted sweep={} {} created={} reused={}", rec.id, Kv("name", rec.name),
                result.jobs_created, result.jobs_reused);
  }
  Notify(notices);
  return result;
}

StatusOr<SweepSummary> Coordinator::GetSweep(int64_t sweep_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sweeps_.find(sweep_id);
  if (it == sweeps_.end()) return NotFoundError("no sweep with id " + std::to_string(sweep_id));
  return Summarize(it->second);
}

std::vector<SweepSummary> Coordinator::ListSweeps() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<SweepSummary> out;
  for (const auto& [id, sweep] : sweeps_) out.push_back(Summarize(sweep));
  return out;
}

StatusOr<ListSweepsResult> Coordinator::ListSweeps(const ListSweepsRequest& request) const {
  LCSWEEP_ASSIGN_OR_RETURN(int page_size, PageSize(request.page_size));
  LCSWEEP_ASSIGN_OR_RETURN(int64_t before, ParsePageToken(request.page_token));
  std::lock_guard<std::mutex> lock(mu_);
  ListSweepsResult result;
  for (auto it = sweeps_.rbegin(); it != sweeps_.rend(); ++it) {
    if (before > 0 && it->first >= before) continue;
    const SweepRecord& s = it->second;
    if (!request.tag.empty() &&
        std::find(s.tags.begin(), s.tags.end(), request.tag) == s.tags.end())
      continue;
    if (static_cast<int>(result.sweeps.size()) == page_size) {
      result.next_page_token = std::to_string(result.sweeps.back().sweep.id);
      break;
    }
    result.sweeps.push_back(Summarize(s));
  }
  return result;
}

StatusOr<ListJobsResult> Coordinator::ListJobs(const ListJobsRequest& request) const {
  LCSWEEP_ASSIGN_OR_RETURN(int page_size, PageSize(request.page_size));
  LCSWEEP_ASSIGN_OR_RETURN(int64_t after, ParsePageToken(request.page_token));
  std::lock_guard<std::mutex> lock(mu_);
  auto wanted = [&](const JobRecord& j) {
    if (request.state.has_value() && j.state != *request.state) return false;
    if (!request.states.empty() &&
        std::find(request.states.begin(), request.states.end(), j.state) == request.states.end())
      return false;
    if (request.worker_id != 0 && j.lease_owner != request.worker_id) return false;
    return true;
  };
  ListJobsResult result;
  auto visit = [&](const JobRecord& j) {
    if (!wanted(j)) return;
    ++result.total;
    if (j.id <= after) return;
    if (static_cast<int>(result.jobs.size()) < page_size) {
      result.jobs.push_back(j);
    } else if (result.next_page_token.empty()) {
      result.next_page_token = std::to_string(result.jobs.back().id);
    }
  };
  if (request.sweep_id.has_value()) {
    auto it = sweep_jobs_.find(*request.sweep_id);
    if (it == sweep_jobs_.end())
      return NotFoundError("no sweep with id " + std::to_string(*request.sweep_id));
    for (int64_t id : it->second) visit(jobs_.at(id));
  } else {
    for (const auto& [id, job] : jobs_) visit(job);
  }
  return result;
}

StatusOr<JobRecord> Coordinator::GetJob(int64_t job_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  const JobRecord* job = FindJob(job_id);
  if (job == nullptr) return NotFoundError("no job with id " + std::to_string(job_id));
  return *job;
}

StatusOr<JobRecord> Coordinator::CancelJob(int64_t job_id, const std::string& reason) {
  std::vector<ChangeNotice> notices;
  JobRecord out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const JobRecord* found = FindJob(job_id);
    if (found == nullptr) return NotFoundError("no job with id " + std::to_string(job_id));
    if (IsTerminal(found->state)) return *found;
    JobRecord job = *found;
    const std::string from = JobStateName(job.state);
    const int64_t now = clock_->NowMs();
    // A running job keeps its token so its worker hears about the
    // cancellation on its next heartbeat.
    job.state = JobState::kCancelled;
    job.finished_ms = job.updated_ms = now;
    WriteBatch batch;
    batch.events.push_back(MakeEvent(
        job, from, "cancelled" + (reason.empty() ? std::string() : ": " + reason),
        from == "running" ? job.lease_owner : 0));
    batch.jobs.push_back(job);
    LCSWEEP_RETURN_IF_ERROR(CommitAndApply(batch, &notices));
    out = jobs_.at(job_id);
  }
  Notify(notices);
  return out;
}

StatusOr<CancelSweepResult> Coordinator::CancelSweep(int64_t sweep_id, const std::string& reason) {
  std::vector<ChangeNotice> notices;
  CancelSweepResult result;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto sit = sweeps_.find(sweep_id);
    if (sit == sweeps_.end()) return NotFoundError("no sweep with id " + std::to_string(sweep_id));
    const int64_t now = clock_->NowMs();
    WriteBatch batch;
    SweepRecord sweep = sit->second;
    if (sweep.cancelled_ms == 0) sweep.cancelled_ms = now;
    batch.sweeps.push_back(sweep);
    for (int64_t id : sweep_jobs_[sweep_id]) {
      JobRecord job = jobs_.at(id);
      if (IsTerminal(job.state)) {
        ++result.already_finished;
        continue;
      }
      bool shared = false;
      for (int64_t other : job.sweep_ids) {
        if (other == sweep_id) continue;
        auto o = sweeps_.find(other);
        if (o != sweeps_.end() && o->second.cancelled_ms == 0) shared = true;
      }
      if (shared) {
        ++result.skipped_shared;
        continue;
      }
      const std::string from = JobStateName(job.state);
      (job.state == JobState::kRunning ? result.cancel_requested : result.cancelled)++;
      job.state = JobState::kCancelled;
      job.finished_ms = job.updated_ms = now;
      batch.events.push_back(MakeEvent(
          job, from,
          "sweep " + std::to_string(sweep_id) + " cancelled" +
              (reason.empty() ? std::string() : ": " + reason),
          from == "running" ? job.lease_owner : 0));
      batch.jobs.push_back(std::move(job));
    }
    LCSWEEP_RETURN_IF_ERROR(CommitAndApply(batch, &notices));
  }
  Notify(notices);
  return result;
}

StatusOr<JobRecord> Coordinator::RetryJob(int64_t job_id) {
  std::vector<ChangeNotice> notices;
  JobRecord out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const JobRecord* found = FindJob(job_id);
    if (found == nullptr) return NotFoundError("no job with id " + std::to_string(job_id));
    if (found->state != JobState::kFailed && found->state != JobState::kCancelled)
      return FailedPreconditionError("job " + std::to_string(job_id) + " is " +
                                     JobStateName(found->state) +
                                     "; only failed or cancelled jobs can be retried");
    JobRecord job = *found;
    const std::string from = JobStateName(job.state);
    int budget = 1;
    for (int64_t s : job.sweep_ids) {
      auto it = sweeps_.find(s);
      if (it != sweeps_.end()) budget = std::max(budget, it->second.max_attempts);
    }
    const int64_t now = clock_->NowMs();
    job.state = JobState::kQueued;
    job.attempt += 1;
    job.max_attempts = job.attempt - 1 + budget;
    job.lease_token.clear();  // a cancelled job's old worker is now stale
    job.lease_expiry_ms = 0;
    job.error.clear();
    job.retryable = false;
    job.queued_ms = job.updated_ms = now;
    WriteBatch batch;
    batch.events.push_back(MakeEvent(job, from, "retried by user", 0));
    batch.jobs.push_back(job);
    LCSWEEP_RETURN_IF_ERROR(CommitAndApply(batch, &notices));
    out = jobs_.at(job_id);
  }
  Notify(notices);
  return out;
}

// Both results calls copy the jobs under the lock and aggregate outside it:
// parsing thousands of result documents must not stall lease and heartbeat
// calls (measured: 1.8 s for 1,260 jobs held the mutex before).
namespace {
ResultsSummary AggregateCopies(const std::vector<JobRecord>& copies) {
  std::vector<const JobRecord*> jobs;
  jobs.reserve(copies.size());
  for (const JobRecord& j : copies) jobs.push_back(&j);
  return AggregateResults(jobs);
}
}  // namespace

StatusOr<ResultsSummary> Coordinator::GetResults(int64_t sweep_id) const {
  std::vector<JobRecord> copies;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sweep_jobs_.find(sweep_id);
    if (it == sweep_jobs_.end()) return NotFoundError("no sweep with id " + std::to_string(sweep_id));
    copies.reserve(it->second.size());
    for (int64_t id : it->second) copies.push_back(jobs_.at(id));
  }
  return AggregateCopies(copies);
}

StatusOr<ResultsSummary> Coordinator::GetResultsForJobs(const std::vector<int64_t>& job_ids) const {
  std::vector<int64_t> ids = job_ids;
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::vector<JobRecord> copies;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int64_t id : ids) {
      const JobRecord* job = FindJob(id);
      if (job == nullptr) return NotFoundError("no job with id " + std::to_string(id));
      copies.push_back(*job);
    }
  }
  return AggregateCopies(copies);
}

StatusOr<std::vector<Event>> Coordinator::ListEvents(const ListEventsRequest& request) const {
  ListEventsRequest req = request;
  if (req.limit < 0 || req.limit > kMaxEventLimit)
    return InvalidArgumentError("limit must be in [0, " + std::to_string(kMaxEventLimit) + "]");
  if (req.limit == 0) req.limit = kDefaultEventLimit;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (req.job_id != 0 && FindJob(req.job_id) == nullptr)
      return NotFoundError("no job with id " + std::to_string(req.job_id));
    if (req.sweep_id != 0 && sweeps_.count(req.sweep_id) == 0)
      return NotFoundError("no sweep with id " + std::to_string(req.sweep_id));
  }
  return store_->ListEvents(req);
}

StatusOr<std::vector<MetricPoint>> Coordinator::ListMetrics(const ListMetricsRequest& request) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (FindJob(request.job_id) == nullptr)
      return NotFoundError("no job with id " + std::to_string(request.job_id));
  }
  if (request.limit <= 0) return InvalidArgumentError("limit must be > 0");
  return store_->ListMetrics(request);
}

std::vector<WorkerRecord> Coordinator::ListWorkers(bool include_dead) const {
  std::lock_guard<std::mutex> lock(mu_);
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

StatusOr<std::optional<CheckpointMeta>> Coordinator::LatestCheckpointOfJob(int64_t job_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (FindJob(job_id) == nullptr) return NotFoundError("no job with id " + std::to_string(job_id));
  auto it = checkpoints_.find(job_id);
  if (it == checkpoints_.end() || it->second.empty()) return std::optional<CheckpointMeta>();
  return std::optional<CheckpointMeta>(it->second.back());
}

// ---------------------------------------------------------------------------
// WorkerService

StatusOr<RegisterWorkerResult> Coordinator::RegisterWorker(const WorkerRecord& worker) {
  if (worker.name.empty())
    return InvalidArgumentError("worker name is empty: give each worker a stable name");
  std::vector<ChangeNotice> notices;
  RegisterWorkerResult result;
  {
    std::lock_guard<std::mutex> lock(mu_);
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
    result.worker_id = rec.id;
    result.lease_ttl_ms = options_.lease_ttl_ms;
    result.heartbeat_interval_ms = options_.heartbeat_interval_ms;
  }
  Notify(notices);
  return result;
}

StatusOr<std::optional<Lease>> Coordinator::LeaseJob(const LeaseRequest& request) {
  std::vector<ChangeNotice> notices;
  std::optional<Lease> lease;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto wit = workers_.find(request.worker_id);
    if (wit == workers_.end())
      return NotFoundError("no worker with id " + std::to_string(request.worker_id) +
                           "; register it first (RegisterWorker)");
    const int64_t now = clock_->NowMs();
    WorkerRecord worker = wit->second;
    worker.last_seen_ms = now;

    // Best = highest priority, then fair share (fewest running jobs in the
    // job's least loaded sweep), then FIFO (lowest id). That job is always
    // the first matching job of one of its sweeps' queues, so only the head
    // of each sweep's queue is compared: O(sweeps with queued jobs), plus the
    // jobs skipped because this worker cannot run them.
    const JobRecord* best = nullptr;
    int64_t best_load = 0;
    for (const auto& [sweep_id, queue] : queued_by_sweep_) {
      for (const auto& [neg_priority, id] : queue) {
        const JobRecord& job = jobs_.at(id);
        if (!Matches(job, request)) continue;
        const int64_t load = RunningInSweeps(job);
        if (best == nullptr || job.priority > best->priority ||
            (job.priority == best->priority &&
             (load < best_load || (load == best_load && job.id < best->id)))) {
          best = &job;
          best_load = load;
        }
        break;  // later jobs of this sweep's queue are worse
      }
    }
    WriteBatch batch;
    batch.workers.push_back(worker);  // last_seen
    if (best != nullptr) {
      JobRecord job = *best;
      job.state = JobState::kRunning;
      job.lease_token = NewToken();
      job.lease_owner = request.worker_id;
      job.lease_expiry_ms = now + options_.lease_ttl_ms;
      job.started_ms = job.updated_ms = now;
      batch.events.push_back(MakeEvent(job, "queued",
                                       "leased by worker " + std::to_string(request.worker_id) +
                                           " (" + worker.name + ")",
                                       request.worker_id));
      batch.jobs.push_back(job);
      // The new attempt resumes after its checkpoint's step (or starts over
      // without one) and measures every later step again: the points stored
      // for those steps leave the live series, in the same transaction.
      // Points up to the checkpoint's step stay live: the worker stores its
      // metrics before it uploads a checkpoint (worker/agent/job_session.h).
      batch.superseded_metrics.push_back({job.id, ResumeStep(job.id), /*attempt=*/0});
    }
    LCSWEEP_RETURN_IF_ERROR(CommitAndApply(batch, &notices));
    if (best != nullptr) {
      lease_resume_steps_[batch.jobs[0].id].push_back(batch.superseded_metrics[0].after_step);
      const JobRecord& job = jobs_.at(batch.jobs[0].id);
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
  Notify(notices);
  return lease;
}

StatusOr<HeartbeatResult> Coordinator::Heartbeat(const HeartbeatRequest& request) {
  std::vector<ChangeNotice> notices;
  HeartbeatResult result;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (request.token.empty()) return InvalidArgumentError("lease token is empty");
    auto it = job_by_token_.find(request.token);
    if (it == job_by_token_.end()) return StaleToken();
    JobRecord job = jobs_.at(it->second);
    const int64_t now = clock_->NowMs();
    WriteBatch batch;
    if (job.state == JobState::kCancelled) {
      // Tell the worker once; the token is dead from now on.
      result.cancel_requested = true;
      job.lease_token.clear();
      job.lease_expiry_ms = 0;
      job.updated_ms = now;
      batch.jobs.push_back(job);
    } else {
      if (job.state != JobState::kRunning) return StaleToken();
      job.progress.epoch = request.progress.epoch;
      job.progress.step = request.progress.step;
      for (const auto& [name, value] : request.progress.metrics) job.progress.metrics[name] = value;
      job.progress.updated_ms = now;
      job.lease_expiry_ms = now + options_.lease_ttl_ms;
      job.updated_ms = now;
      result.expiry_ms = job.lease_expiry_ms;
      batch.jobs.push_back(job);
      auto wit = workers_.find(job.lease_owner);
      if (wit != workers_.end()) {
        WorkerRecord w = wit->second;
        w.last_seen_ms = now;
        batch.workers.push_back(w);
      }
    }
    LCSWEEP_RETURN_IF_ERROR(CommitAndApply(batch, &notices));
  }
  Notify(notices);
  return result;
}

Status Coordinator::ReportMetrics(const std::string& token, std::vector<MetricPoint> points) {
  if (static_cast<int64_t>(points.size()) > options_.max_metric_points_per_report)
    return InvalidArgumentError("too many metric points in one report (" +
                                std::to_string(points.size()) + " > " +
                                std::to_string(options_.max_metric_points_per_report) +
                                "); split it into smaller batches");
  int64_t job_id = 0;
  int attempt = 0;
  size_t leases_before = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    LCSWEEP_ASSIGN_OR_RETURN(JobRecord job, LiveLease(token));
    job_id = job.id;
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
  }
  if (points.empty()) return OkStatus();
  // Durable before we acknowledge: group commit with concurrent reporters.
  LCSWEEP_RETURN_IF_ERROR(batcher_->Append(points));
  std::vector<ChangeNotice> notices;
  {
    std::lock_guard<std::mutex> lock(mu_);
    SupersedeLateReport(job_id, attempt, leases_before);
    auto it = jobs_.find(job_id);
    // Last values for the live view (persisted with the next heartbeat).
    if (it != jobs_.end() && it->second.lease_token == token) {
      for (const MetricPoint& p : points) it->second.progress.metrics[p.name] = p.value;
      it->second.version = ++version_;
    } else {
      ++version_;
    }
    ChangeNotice n;
    n.kind = ChangeNotice::Kind::kMetrics;
    n.id = job_id;
    n.version = version_;
    n.points = std::move(points);
    notices.push_back(std::move(n));
  }
  Notify(notices);
  return OkStatus();
}

int64_t Coordinator::ResumeStep(int64_t job_id) const {
  auto it = checkpoints_.find(job_id);
  if (it == checkpoints_.end() || it->second.empty()) return -1;
  return it->second.back().step;
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
  std::lock_guard<std::mutex> lock(mu_);
  return LiveLease(token);
}

StatusOr<RecordCheckpointResult> Coordinator::RecordCheckpoint(const std::string& token,
                                                               CheckpointMeta meta) {
  std::vector<ChangeNotice> notices;
  RecordCheckpointResult result;
  {
    std::lock_guard<std::mutex> lock(mu_);
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
  Notify(notices);
  return result;
}

StatusOr<std::optional<CheckpointMeta>> Coordinator::LatestCheckpoint(const std::string& token) const {
  std::lock_guard<std::mutex> lock(mu_);
  LCSWEEP_ASSIGN_OR_RETURN(JobRecord job, LiveLease(token));
  auto it = checkpoints_.find(job.id);
  if (it == checkpoints_.end() || it->second.empty()) return std::optional<CheckpointMeta>();
  return std::optional<CheckpointMeta>(it->second.back());
}

Status Coordinator::CompleteJob(const std::string& token, const std::string& result_json) {
  LCSWEEP_RETURN_IF_ERROR(CheckResultJsonText(result_json));  // before any parse (common/limits.h)
  nlohmann::json parsed = nlohmann::json::parse(result_json, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object())
    return InvalidArgumentError("result_json must be a JSON object; the job stays running");
  std::vector<ChangeNotice> notices;
  {
    std::lock_guard<std::mutex> lock(mu_);
    LCSWEEP_ASSIGN_OR_RETURN(JobRecord job, LiveLease(token));
    const int64_t now = clock_->NowMs();
    job.state = JobState::kSucceeded;
    job.result_json = parsed.dump();
    job.lease_token.clear();
    job.lease_expiry_ms = 0;
    job.error.clear();
    job.finished_ms = job.updated_ms = now;
    WriteBatch batch;
    batch.events.push_back(MakeEvent(job, "running", "completed", job.lease_owner));
    batch.jobs.push_back(job);
    LCSWEEP_RETURN_IF_ERROR(CommitAndApply(batch, &notices));
  }
  Notify(notices);
  return OkStatus();
}

StatusOr<JobRecord> Coordinator::FailJob(const std::string& token, const std::string& error,
                                         bool retryable) {
  std::vector<ChangeNotice> notices;
  JobRecord out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    LCSWEEP_ASSIGN_OR_RETURN(JobRecord job, LiveLease(token));
    const int64_t now = clock_->NowMs();
    const int failed_attempt = job.attempt;
    job.error = error;
    job.retryable = retryable;
    job.lease_token.clear();
    job.lease_expiry_ms = 0;
    job.updated_ms = now;
    std::string reason = "attempt " + std::to_string(failed_attempt) + " failed" +
                         (retryable ? " (retryable)" : " (not retryable)") + ": " + error;
    if (retryable && job.attempt < job.max_attempts) {
      job.state = JobState::kQueued;
      job.attempt += 1;
      job.queued_ms = now;
    } else {
      job.state = JobState::kFailed;
      job.finished_ms = now;
      if (retryable) reason += "; no attempts left";
    }
    WriteBatch batch;
    batch.events.push_back(MakeEvent(job, "running", reason, job.lease_owner));
    batch.jobs.push_back(job);
    LCSWEEP_RETURN_IF_ERROR(CommitAndApply(batch, &notices));
    out = jobs_.at(job.id);
  }
  Notify(notices);
  return out;
}

Status Coordinator::ReleaseJob(const std::string& token, const std::string& reason) {
  std::vector<ChangeNotice> notices;
  {
    std::lock_guard<std::mutex> lock(mu_);
    LCSWEEP_ASSIGN_OR_RETURN(JobRecord job, LiveLease(token));
    const int64_t now = clock_->NowMs();
    job.state = JobState::kQueued;  // attempt unchanged: a drain is not a failure
    job.lease_token.clear();
    job.lease_expiry_ms = 0;
    job.queued_ms = job.updated_ms = now;
    WriteBatch batch;
    batch.events.push_back(MakeEvent(
        job, "running", "released" + (reason.empty() ? std::string() : ": " + reason),
        job.lease_owner));
    batch.jobs.push_back(job);
    LCSWEEP_RETURN_IF_ERROR(CommitAndApply(batch, &notices));
  }
  Notify(notices);
  return OkStatus();
}

// ---------------------------------------------------------------------------
// Maintenance

StatusOr<std::vector<int64_t>> Coordinator::ReapExpiredLeases() {
  std::vector<ChangeNotice> notices;
  std::vector<int64_t> affected;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = clock_->NowMs();
    WriteBatch batch;
    for (const auto& [token, job_id] : job_by_token_) {
      const JobRecord& current = jobs_.at(job_id);
      if (current.lease_expiry_ms > now) continue;
      JobRecord job = current;
      job.lease_token.clear();
      job.lease_expiry_ms = 0;
      job.updated_ms = now;
      if (job.state == JobState::kCancelled) {
        // Its worker never came back to hear about the cancellation.
        batch.jobs.push_back(std::move(job));
        continue;
      }
      // An expired lease is a lost attempt (the worker may have crashed
      // because of the job itself), so it counts like a retryable failure.
      const int lost = job.attempt;
      std::string reason = "lease of attempt " + std::to_string(lost) + " expired (worker " +
                           std::to_string(job.lease_owner) + " silent)";
      if (job.attempt < job.max_attempts) {
        job.state = JobState::kQueued;
        job.attempt += 1;
        job.queued_ms = now;
      } else {
        job.state = JobState::kFailed;
        job.finished_ms = now;
        job.error = reason + "; no attempts left";
        job.retryable = true;
        reason += "; no attempts left";
      }
      batch.events.push_back(MakeEvent(job, "running", reason, job.lease_owner));
      batch.jobs.push_back(std::move(job));
      affected.push_back(job_id);
    }
    std::sort(affected.begin(), affected.end());
    LCSWEEP_RETURN_IF_ERROR(CommitAndApply(batch, &notices));
    if (!affected.empty()) Log()->warn("event=leases_reaped count={}", affected.size());
  }
  Notify(notices);
  return affected;
}

// ---------------------------------------------------------------------------
// Watching

uint64_t Coordinator::Version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return version_;
}

uint64_t Coordinator::WaitForChange(uint64_t after_version, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait_for(lock, timeout, [&] { return shutdown_ || version_ > after_version; });
  return version_;
}

bool Coordinator::IsShutDown() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shutdown_;
}

StatusOr<JobRecord> Coordinator::WaitForJobChange(int64_t job_id, uint64_t after_version,
                                                  std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  if (FindJob(job_id) == nullptr) return NotFoundError("no job with id " + std::to_string(job_id));
  changed_.wait_for(lock, timeout,
                    [&] { return shutdown_ || jobs_.at(job_id).version > after_version; });
  return jobs_.at(job_id);
}

int Coordinator::AddListener(std::function<void(const ChangeNotice&)> listener) {
  std::lock_guard<std::mutex> lock(listeners_mu_);
  const int id = next_listener_id_++;
  listeners_[id] = std::move(listener);
  return id;
}

void Coordinator::RemoveListener(int id) {
  std::lock_guard<std::mutex> lock(listeners_mu_);
  listeners_.erase(id);
}

void Coordinator::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_ = true;
  }
  changed_.notify_all();
}

}  // namespace lcsweep
