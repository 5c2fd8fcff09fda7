// SubmitPlan: dedupe and job creation for one submission (see submit_plan.h).
#include "server/core/submit_plan.h"

#include <algorithm>
#include <map>

namespace lcsweep {
namespace {

void AddSweepId(JobRecord* job, int64_t sweep_id) {
  auto it = std::lower_bound(job->sweep_ids.begin(), job->sweep_ids.end(), sweep_id);
  if (it == job->sweep_ids.end() || *it != sweep_id) job->sweep_ids.insert(it, sweep_id);
}

JobRecord NewJob(const ExpandedJob& ej, const SweepRecord& sweep, int64_t id, int64_t now) {
  JobRecord job;
  job.id = id;
  job.sweep_ids = {sweep.id};
  job.config_json = ej.canonical_json;
  job.hash = ej.hash;
  job.group_hash = ej.group_hash;
  nlohmann::json axes = nlohmann::json::object();
  for (const auto& [path, value] : ej.axes) axes[path] = value;
  job.axes_json = axes.dump();
  job.state = JobState::kQueued;
  job.priority = sweep.priority;
  job.attempt = 1;
  job.max_attempts = sweep.max_attempts;
  job.requirements.device = ej.config.resources.device;
  job.requirements.min_gpu_memory_gb = ej.config.resources.min_gpu_memory_gb;
  job.created_ms = job.queued_ms = job.updated_ms = now;
  return job;
}

}  // namespace

Transition PlanLink(const JobRecord& existing, const SweepRecord& sweep, int64_t now,
                    SubmittedJob* submitted) {
  Transition t;
  t.job = existing;
  t.job.updated_ms = now;
  switch (existing.state) {
    case JobState::kQueued:
      submitted->outcome = SubmitOutcome::kReused;
      t.job.priority = std::max(t.job.priority, sweep.priority);
      break;
    case JobState::kRunning:
      submitted->outcome = SubmitOutcome::kReused;
      break;
    case JobState::kSucceeded:
      submitted->outcome = SubmitOutcome::kReusedResult;
      submitted->result_json = existing.result_json;
      break;
    case JobState::kFailed:
    case JobState::kCancelled:
    case JobState::kStopped: {
      submitted->outcome = SubmitOutcome::kRequeued;
      Trigger resubmit;
      resubmit.kind = Trigger::Kind::kResubmit;
      resubmit.now_ms = now;
      resubmit.budget = sweep.max_attempts;
      resubmit.priority = sweep.priority;
      resubmit.sweep_id = sweep.id;
      // The table allows kResubmit from failed, cancelled and stopped, the
      // only states that reach here.
      t = *Transit(existing, resubmit);
      break;
    }
  }
  AddSweepId(&t.job, sweep.id);
  submitted->state = t.job.state;
  return t;
}

SubmitPlan PlanSubmit(const Sweep& sweep, const SubmitSweepRequest& request,
                      const DedupeIndex& index, int64_t sweep_id, int64_t first_job_id,
                      int64_t now) {
  SubmitPlan plan;
  SweepRecord& rec = plan.sweep;
  rec.id = sweep_id;
  rec.name = sweep.name;
  rec.description = sweep.description;
  rec.priority = static_cast<int>(request.priority.value_or(sweep.priority));
  rec.max_attempts = static_cast<int>(sweep.max_attempts);
  rec.tags = sweep.tags;
  rec.request_id = request.request_id;
  nlohmann::json spec = sweep.spec;
  if (request.priority.has_value() && spec.is_object()) spec["priority"] = rec.priority;
  rec.spec_json = spec.dump();
  rec.created_ms = now;

  SubmitSweepResult& result = plan.result;
  result.dry_run = request.dry_run;
  // Each job appears once in the plan; a job found twice (two hashes cannot
  // map to one job, but a forced and a linked entry can name the same id)
  // keeps its first transition.
  std::map<int64_t, Transition> touched;
  int64_t next_id = first_job_id;
  for (const ExpandedJob& ej : sweep.jobs) {
    SubmittedJob sj;
    sj.hash = ej.hash;
    if (request.dry_run) sj.config_json = ej.canonical_json;
    auto found = index.find(ej.hash);
    const JobRecord* existing = found == index.end() ? nullptr : &found->second;
    const bool finished = existing != nullptr && IsTerminal(existing->state);
    if (existing != nullptr && !(request.force && finished)) {
      plan.read.push_back({existing->id, existing->version});
      Transition t = PlanLink(*existing, rec, now, &sj);
      sj.job_id = request.dry_run ? 0 : t.job.id;
      touched.emplace(t.job.id, std::move(t));
      ++result.jobs_reused;
    } else {
      Transition t;
      t.job = NewJob(ej, rec, next_id++, now);
      t.has_event = true;
      t.event.reason = existing != nullptr ? "forced re-run of job " + std::to_string(existing->id) +
                                                 " in sweep " + std::to_string(rec.id)
                                           : "submitted in sweep " + std::to_string(rec.id);
      sj.outcome = existing != nullptr ? SubmitOutcome::kForced : SubmitOutcome::kCreated;
      sj.state = JobState::kQueued;
      sj.job_id = request.dry_run ? 0 : t.job.id;
      touched.emplace(t.job.id, std::move(t));
      // Identical expansions were collapsed by the parser, so no later job of
      // this loop has this hash.
      ++result.jobs_created;
    }
    result.jobs.push_back(std::move(sj));
  }
  plan.jobs.reserve(touched.size());
  for (auto& [id, t] : touched) plan.jobs.push_back(std::move(t));
  result.sweep_id = request.dry_run ? 0 : rec.id;
  return plan;
}

}  // namespace lcsweep
