// Coordinator: sweep submission (SubmitSweep): parse and plan outside the
// state mutex, relink what moved on, and commit in one transaction or, for a
// large submission, in chunks that stay invisible until the last one. See
// coordinator.h for the contract and submit_plan.h for the dedupe rules.
#include <algorithm>
#include <map>
#include <utility>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/logging.h"
#include "common/sweep_spec.h"
#include "common/text_checks.h"
#include "server/core/coordinator.h"

namespace lcsweep {
namespace {

// Appends the links, jobs and audit entries of a committed `from` to `to`
// (what the chunks wrote, applied to memory together at the end).
void MoveJobs(WriteBatch* from, WriteBatch* to) {
  to->sweep_jobs.insert(to->sweep_jobs.end(), from->sweep_jobs.begin(), from->sweep_jobs.end());
  for (JobRecord& j : from->jobs) to->jobs.push_back(std::move(j));
  for (Event& e : from->events) to->events.push_back(std::move(e));
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
      MoveJobs(&batch, &written);
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
  MoveJobs(&last, &written);
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

}  // namespace lcsweep
