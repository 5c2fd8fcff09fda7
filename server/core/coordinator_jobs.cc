// Coordinator: the JobService methods (submit, read, cancel, retry, results,
// events, metrics reads). See coordinator.h for the contracts.
#include <algorithm>
#include <climits>
#include <map>
#include <utility>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/logging.h"
#include "common/sweep_spec.h"
#include "common/text_checks.h"
#include "server/core/coordinator.h"
#include "server/core/results.h"

namespace lcsweep {
namespace {


constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;
constexpr int kDefaultEventLimit = 500;
constexpr int kMaxEventLimit = 5000;
constexpr int kDefaultMetricPage = 1000;
constexpr int kMaxMetricPage = 10000;

// Out-of-range sizes are clamped (the proto's contract), never refused.
int Clamp(int requested, int fallback, int max) {
  if (requested <= 0) return fallback;
  return std::min(requested, max);
}

ResultsSummary AggregateCopies(const std::vector<JobRecord>& copies) {
  std::vector<const JobRecord*> jobs;
  jobs.reserve(copies.size());
  for (const JobRecord& j : copies) jobs.push_back(&j);
  return AggregateResults(jobs);
}

}  // namespace

// ---------------------------------------------------------------------------
// Submission: parse and plan outside mu_ (seconds for 100k jobs), then check
// and commit under it.

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
  const Sweep& sweep = *parsed.sweep;
  SubmitIds ids;
  DedupeIndex index;
  if (request.dry_run) {  // a plan never committed
    {
      MutexLock lock(&mu_);
      index = IndexLocked(sweep, &ids);
    }
    return PlanSubmit(sweep, request, index, ids.sweep_id, ids.first_job_id, clock_->NowMs()).result;
  }

  MutexLock submitting(&submit_mu_);
  {
    MutexLock lock(&mu_);
    std::optional<StatusOr<SubmitSweepResult>> replay = ReplayLocked(sweep, request);
    if (replay.has_value()) return *std::move(replay);
    index = IndexLocked(sweep, &ids);
  }
  SubmitPlan plan = PlanSubmit(sweep, request, index, ids.sweep_id, ids.first_job_id,
                               clock_->NowMs());
  std::vector<Change> notices;
  StatusOr<SubmitSweepResult> result = SubmitSweepResult{};
  const size_t chunk = static_cast<size_t>(std::max(0, options_.submit_chunk_jobs));
  if (chunk > 0 && static_cast<size_t>(plan.result.jobs_created) > chunk) {
    result = CommitPlanInChunks(sweep, request, std::move(plan), &notices);
  } else {
    MutexLock lock(&mu_);
    result = CommitPlanLocked(sweep, request, std::move(plan), &notices);
  }
  Notify(std::move(notices));
  return result;
}

std::optional<StatusOr<SubmitSweepResult>> Coordinator::ReplayLocked(
    const Sweep& sweep, const SubmitSweepRequest& request) const {
  if (request.request_id.empty()) return std::nullopt;
  auto seen = sweep_by_request_.find(request.request_id);
  if (seen == sweep_by_request_.end()) return std::nullopt;
  const SweepRecord& earlier = sweeps_.at(seen->second);
  // Planning renders the spec the same way; compare that rendering.
  nlohmann::json spec = sweep.spec;
  if (request.priority.has_value() && spec.is_object()) spec["priority"] = *request.priority;
  if (spec.dump() != earlier.spec_json)
    return StatusOr<SubmitSweepResult>(FailedPreconditionError(
        "request_id \"" + request.request_id + "\" was used for sweep " +
        std::to_string(earlier.id) +
        " with a different spec; use a new request_id for a new submission"));
  return StatusOr<SubmitSweepResult>(Replay(earlier));
}

DedupeIndex Coordinator::IndexLocked(const Sweep& sweep, SubmitIds* ids) const {
  DedupeIndex index;
  for (const ExpandedJob& ej : sweep.jobs) {
    auto newest = newest_by_hash_.find(ej.hash);
    if (newest != newest_by_hash_.end()) index.emplace(ej.hash, jobs_.at(newest->second));
  }
  ids->sweep_id = next_sweep_id_;
  ids->first_job_id = next_job_id_;
  return index;
}

StatusOr<SubmitSweepResult> Coordinator::CommitPlanLocked(const Sweep& sweep,
                                                          const SubmitSweepRequest& request,
                                                          SubmitPlan plan,
                                                          std::vector<Change>* notices) {
  if (!RelinkLocked(request, next_job_id_, &plan)) {
    SubmitIds ids;
    DedupeIndex index = IndexLocked(sweep, &ids);
    plan = PlanSubmit(sweep, request, index, ids.sweep_id, ids.first_job_id, clock_->NowMs());
  }
  WriteBatch batch;
  batch.sweeps.push_back(plan.sweep);
  for (Transition& t : plan.jobs) {
    batch.sweep_jobs.push_back({plan.sweep.id, t.job.id});
    AddTransition(t, &batch);
  }
  LCSWEEP_RETURN_IF_ERROR(CommitAndApply(batch, notices));
  next_sweep_id_ = plan.sweep.id + 1;
  next_job_id_ += plan.result.jobs_created;
  Log()->info("event=sweep_submitted sweep={} {} created={} reused={}", plan.sweep.id,
              Kv("name", plan.sweep.name), plan.result.jobs_created, plan.result.jobs_reused);
  return std::move(plan.result);
}

bool Coordinator::RelinkLocked(const SubmitSweepRequest& request, int64_t first_job_id,
                               SubmitPlan* plan) const {
  std::map<int64_t, uint64_t> read(plan->read.begin(), plan->read.end());
  std::map<int64_t, SubmittedJob*> submitted;
  for (SubmittedJob& sj : plan->result.jobs) submitted[sj.job_id] = &sj;
  // plan->jobs ascends by id: the existing jobs come before the new ones.
  for (Transition& t : plan->jobs) {
    if (t.job.id >= first_job_id) break;
    const JobRecord& current = jobs_.at(t.job.id);
    auto seen = read.find(t.job.id);
    if (seen == read.end() || current.version == seen->second) continue;
    // Forced, it must now run again as a new job: the new jobs change.
    if (request.force && IsTerminal(current.state)) return false;
    t = PlanLink(current, plan->sweep, plan->sweep.created_ms, submitted.at(t.job.id));
    seen->second = current.version;
  }
  return true;
}

StatusOr<SubmitSweepResult> Coordinator::CommitPlanInChunks(const Sweep& sweep,
                                                            const SubmitSweepRequest& request,
                                                            SubmitPlan plan,
                                                            std::vector<Change>* notices) {
  const size_t chunk = static_cast<size_t>(options_.submit_chunk_jobs);
  // plan.jobs ascends by id and new ids follow every existing one, so the
  // new jobs (more than `chunk`, see SubmitSweep) are its tail.
  const size_t first_new = plan.jobs.size() - static_cast<size_t>(plan.result.jobs_created);
  const int64_t first_job_id = plan.jobs[first_new].job.id;
  SweepRecord incomplete = plan.sweep;
  incomplete.complete = false;
  // The key is written with the last transaction: a retry that finds it
  // finds a complete sweep, and leftovers of a failed undo cannot block it.
  incomplete.request_id.clear();
  WriteBatch written;  // what the chunks committed, applied with the last one
  written.sweeps.push_back(plan.sweep);
  for (size_t begin = first_new; begin < plan.jobs.size(); begin += chunk) {
    {
      MutexLock lock(&mu_);
      WriteBatch batch;
      if (begin == first_new) batch.sweeps.push_back(incomplete);
      for (size_t i = begin; i < std::min(begin + chunk, plan.jobs.size()); ++i) {
        batch.sweep_jobs.push_back({plan.sweep.id, plan.jobs[i].job.id});
        AddTransition(plan.jobs[i], &batch);
      }
      Status status = CommitToStore(batch);
      if (!status.ok()) {
        if (begin > first_new) AbandonChunksLocked(plan);
        return status;
      }
      for (auto& link : batch.sweep_jobs) written.sweep_jobs.push_back(link);
      for (JobRecord& j : batch.jobs) written.jobs.push_back(std::move(j));
      for (Event& e : batch.events) written.events.push_back(std::move(e));
    }
    if (options_.after_submit_chunk) options_.after_submit_chunk();
  }

  MutexLock lock(&mu_);
  if (!RelinkLocked(request, first_job_id, &plan)) {
    // The new jobs are no longer those the chunks wrote: undo them and
    // commit a fresh plan whole (rare: see RelinkLocked).
    WriteBatch undo;
    undo.rolled_back_sweeps.push_back(plan.sweep.id);
    Status undone = CommitToStore(undo);
    if (!undone.ok()) {
      AbandonChunksLocked(plan);
      return undone;
    }
    SubmitIds ids;
    DedupeIndex index = IndexLocked(sweep, &ids);
    return CommitPlanLocked(
        sweep, request,
        PlanSubmit(sweep, request, index, ids.sweep_id, ids.first_job_id, clock_->NowMs()),
        notices);
  }
  WriteBatch last;
  last.sweeps.push_back(plan.sweep);  // complete, with its request_id
  for (size_t i = 0; i < plan.jobs.size() && plan.jobs[i].job.id < first_job_id; ++i) {
    last.sweep_jobs.push_back({plan.sweep.id, plan.jobs[i].job.id});
    AddTransition(plan.jobs[i], &last);
  }
  Status status = CommitToStore(last);
  if (!status.ok()) {
    AbandonChunksLocked(plan);
    return status;
  }
  for (auto& link : last.sweep_jobs) written.sweep_jobs.push_back(link);
  for (JobRecord& j : last.jobs) written.jobs.push_back(std::move(j));
  for (Event& e : last.events) written.events.push_back(std::move(e));
  Apply(std::move(written), notices);
  next_sweep_id_ = plan.sweep.id + 1;
  next_job_id_ += plan.result.jobs_created;
  Log()->info("event=sweep_submitted sweep={} {} created={} reused={} chunks={}", plan.sweep.id,
              Kv("name", plan.sweep.name), plan.result.jobs_created, plan.result.jobs_reused,
              (plan.result.jobs_created + chunk - 1) / chunk);
  return std::move(plan.result);
}

void Coordinator::AbandonChunksLocked(const SubmitPlan& plan) {
  WriteBatch undo;
  undo.rolled_back_sweeps.push_back(plan.sweep.id);
  Status undone = store_->Commit(undo);
  Log()->warn("event=submission_abandoned sweep={} {}", plan.sweep.id,
              Kv("undo", undone.ToString()));
  next_sweep_id_ = plan.sweep.id + 1;
  next_job_id_ += plan.result.jobs_created;
}

SubmitSweepResult Coordinator::Replay(const SweepRecord& sweep) const {
  SubmitSweepResult result;
  result.sweep_id = sweep.id;
  result.replayed = true;
  for (int64_t id : sweep_jobs_.at(sweep.id)) {
    const JobRecord& job = jobs_.at(id);
    SubmittedJob sj;
    sj.job_id = id;
    sj.hash = job.hash;
    sj.state = job.state;
    const bool first = !job.sweep_ids.empty() && job.sweep_ids.front() == sweep.id;
    sj.outcome = first ? SubmitOutcome::kCreated : SubmitOutcome::kReused;
    (first ? result.jobs_created : result.jobs_reused)++;
    result.jobs.push_back(std::move(sj));
  }
  return result;
}

// ---------------------------------------------------------------------------
// Reads

StatusOr<SweepSummary> Coordinator::GetSweep(int64_t sweep_id) const {
  MutexLock lock(&mu_);
  auto it = sweeps_.find(sweep_id);
  if (it == sweeps_.end()) return NotFoundError("no sweep with id " + std::to_string(sweep_id));
  return Summarize(it->second);
}

std::vector<SweepSummary> Coordinator::ListSweeps() const {
  MutexLock lock(&mu_);
  std::vector<SweepSummary> out;
  for (const auto& [id, sweep] : sweeps_) out.push_back(Summarize(sweep));
  return out;
}

StatusOr<ListSweepsResult> Coordinator::ListSweeps(const ListSweepsRequest& request) const {
  const int page_size = Clamp(request.page_size, kDefaultPageSize, kMaxPageSize);
  LCSWEEP_ASSIGN_OR_RETURN(int64_t before, ParseIdPageToken(request.page_token));
  MutexLock lock(&mu_);
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
  const int page_size = Clamp(request.page_size, kDefaultPageSize, kMaxPageSize);
  LCSWEEP_ASSIGN_OR_RETURN(int64_t after, ParseIdPageToken(request.page_token));
  MutexLock lock(&mu_);
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
  MutexLock lock(&mu_);
  const JobRecord* job = FindJob(job_id);
  if (job == nullptr) return NotFoundError("no job with id " + std::to_string(job_id));
  return *job;
}

// Both results calls copy the jobs under the lock and aggregate outside it:
// parsing thousands of result documents must not stall lease and heartbeat
// calls (measured: 1.8 s for 1,260 jobs held the mutex before).
StatusOr<ResultsSummary> Coordinator::GetResults(int64_t sweep_id) const {
  std::vector<JobRecord> copies;
  {
    MutexLock lock(&mu_);
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
    MutexLock lock(&mu_);
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
  req.limit = Clamp(req.limit, kDefaultEventLimit, kMaxEventLimit);
  {
    MutexLock lock(&mu_);
    if (req.job_id != 0 && FindJob(req.job_id) == nullptr)
      return NotFoundError("no job with id " + std::to_string(req.job_id));
    if (req.sweep_id != 0 && sweeps_.count(req.sweep_id) == 0)
      return NotFoundError("no sweep with id " + std::to_string(req.sweep_id));
  }
  return store_->ListEvents(req);
}

StatusOr<ListMetricsResult> Coordinator::ListMetricsPage(const ListMetricsRequest& request) const {
  {
    MutexLock lock(&mu_);
    if (FindJob(request.job_id) == nullptr)
      return NotFoundError("no job with id " + std::to_string(request.job_id));
  }
  if (request.min_step > request.max_step)
    return InvalidArgumentError("min_step (" + std::to_string(request.min_step) +
                                ") is above max_step (" + std::to_string(request.max_step) + ")");
  ListMetricsRequest req = request;
  req.page_size = Clamp(req.page_size, kDefaultMetricPage, kMaxMetricPage);
  return store_->ListMetrics(req);
}

StatusOr<std::vector<MetricPoint>> Coordinator::ListMetrics(const ListMetricsRequest& request) const {
  if (request.limit <= 0) return InvalidArgumentError("limit must be > 0");
  ListMetricsRequest req = request;
  req.page_token.clear();
  std::vector<MetricPoint> out;
  while (static_cast<int64_t>(out.size()) < request.limit) {
    req.page_size = static_cast<int>(
        std::min<int64_t>(kMaxMetricPage, request.limit - static_cast<int64_t>(out.size())));
    LCSWEEP_ASSIGN_OR_RETURN(ListMetricsResult page, ListMetricsPage(req));
    out.insert(out.end(), std::make_move_iterator(page.points.begin()),
               std::make_move_iterator(page.points.end()));
    if (page.next_page_token.empty()) break;
    req.page_token = std::move(page.next_page_token);
  }
  return out;
}

StatusOr<std::optional<CheckpointMeta>> Coordinator::LatestCheckpointOfJob(int64_t job_id) const {
  MutexLock lock(&mu_);
  if (FindJob(job_id) == nullptr) return NotFoundError("no job with id " + std::to_string(job_id));
  auto it = checkpoints_.find(job_id);
  if (it == checkpoints_.end() || it->second.empty()) return std::optional<CheckpointMeta>();
  return std::optional<CheckpointMeta>(it->second.back());
}

// ---------------------------------------------------------------------------
// Changes by users

StatusOr<JobRecord> Coordinator::CancelJob(int64_t job_id, const std::string& reason) {
  std::vector<Change> notices;
  JobRecord out;
  {
    MutexLock lock(&mu_);
    const JobRecord* found = FindJob(job_id);
    if (found == nullptr) return NotFoundError("no job with id " + std::to_string(job_id));
    if (found->state == JobState::kCancelled) return *found;  // idempotent
    if (IsTerminal(found->state))
      return FailedPreconditionError("job " + std::to_string(job_id) + " already " +
                                     JobStateName(found->state) + "; only queued or running "
                                     "jobs can be cancelled");
    Trigger t = MakeTrigger(Trigger::Kind::kCancel);
    t.text = reason;
    LCSWEEP_ASSIGN_OR_RETURN(out, TransitAndCommit(*found, t, &notices));
  }
  Notify(std::move(notices));
  return out;
}

StatusOr<CancelSweepResult> Coordinator::CancelSweep(int64_t sweep_id, const std::string& reason) {
  std::vector<Change> notices;
  CancelSweepResult result;
  {
    MutexLock lock(&mu_);
    auto sit = sweeps_.find(sweep_id);
    if (sit == sweeps_.end()) return NotFoundError("no sweep with id " + std::to_string(sweep_id));
    Trigger t = MakeTrigger(Trigger::Kind::kCancel);
    t.text = reason;
    t.sweep_id = sweep_id;
    WriteBatch batch;
    SweepRecord sweep = sit->second;
    if (sweep.cancelled_ms == 0) sweep.cancelled_ms = t.now_ms;
    batch.sweeps.push_back(sweep);
    for (int64_t id : sweep_jobs_[sweep_id]) {
      const JobRecord& job = jobs_.at(id);
      if (IsTerminal(job.state)) {
        ++result.already_finished;
        continue;
      }
      bool shared = false;  // also in a sweep that is not cancelled
      for (int64_t o : job.sweep_ids) {
        auto other = sweeps_.find(o);
        shared = shared || (o != sweep_id && other != sweeps_.end() && other->second.cancelled_ms == 0);
      }
      if (shared) {
        ++result.skipped_shared;
        continue;
      }
      (job.state == JobState::kRunning ? result.cancel_requested : result.cancelled)++;
      LCSWEEP_ASSIGN_OR_RETURN(Transition tr, Transit(job, t));
      AddTransition(tr, &batch);
    }
    LCSWEEP_RETURN_IF_ERROR(CommitAndApply(batch, &notices));
  }
  Notify(std::move(notices));
  return result;
}

StatusOr<JobRecord> Coordinator::RetryJob(int64_t job_id) {
  std::vector<Change> notices;
  JobRecord out;
  {
    MutexLock lock(&mu_);
    const JobRecord* found = FindJob(job_id);
    if (found == nullptr) return NotFoundError("no job with id " + std::to_string(job_id));
    if (found->state != JobState::kFailed && found->state != JobState::kCancelled)
      return FailedPreconditionError("job " + std::to_string(job_id) + " is " +
                                     JobStateName(found->state) +
                                     "; only failed or cancelled jobs can be retried");
    Trigger t = MakeTrigger(Trigger::Kind::kRetry);
    t.budget = 1;
    for (int64_t s : found->sweep_ids) {
      auto it = sweeps_.find(s);
      if (it != sweeps_.end()) t.budget = std::max(t.budget, it->second.max_attempts);
    }
    LCSWEEP_ASSIGN_OR_RETURN(out, TransitAndCommit(*found, t, &notices));
  }
  Notify(std::move(notices));
  return out;
}

}  // namespace lcsweep
