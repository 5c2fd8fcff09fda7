// JobLifecycle: the transition table and the one function that applies it
// (see job_lifecycle.h for the diagram and the budgets).
#include "server/core/job_lifecycle.h"

#include <algorithm>

namespace lcsweep {
namespace {

using Kind = Trigger::Kind;
constexpr JobState kQ = JobState::kQueued;
constexpr JobState kR = JobState::kRunning;
constexpr JobState kS = JobState::kSucceeded;
constexpr JobState kF = JobState::kFailed;
constexpr JobState kC = JobState::kCancelled;
constexpr JobState kX = JobState::kStopped;

std::string Suffix(const std::string& reason) { return reason.empty() ? "" : ": " + reason; }

// A job leaving running (or a cancelled one losing its worker) gives up its lease.
void DropLease(JobRecord* job) {
  job->lease_token.clear();
  job->lease_expiry_ms = 0;
}

void Requeue(JobRecord* job, int64_t now) {
  job->state = kQ;
  job->queued_ms = now;
}

void Finish(JobRecord* job, JobState state, int64_t now) {
  job->state = state;
  job->finished_ms = now;
}

// Retry and resubmit: a fresh attempt with fresh budgets.
void FreshWindow(JobRecord* job, int budget, int64_t now) {
  DropLease(job);  // a cancelled job's old worker is now stale
  job->attempt += 1;
  job->max_attempts = job->attempt - 1 + std::max(1, budget);
  job->failures = 0;
  job->losses = 0;
  job->error.clear();
  job->retryable = false;
  Requeue(job, now);
}

// A lost worker (expiry or release): the second budget.
bool LossesLeft(const JobRecord& job, const Trigger& t) { return job.losses < t.max_losses; }

std::string LossText(const JobRecord& job, const Trigger& t) {
  return "loss " + std::to_string(job.losses) + " of " + std::to_string(t.max_losses);
}

}  // namespace

const char* TriggerName(Trigger::Kind kind) {
  switch (kind) {
    case Kind::kLease: return "lease";
    case Kind::kComplete: return "complete";
    case Kind::kFail: return "fail";
    case Kind::kRelease: return "release";
    case Kind::kExpire: return "expire";
    case Kind::kCancel: return "cancel";
    case Kind::kCancelAck: return "cancel_ack";
    case Kind::kStop: return "stop";
    case Kind::kRetry: return "retry";
    case Kind::kResubmit: return "resubmit";
  }
  return "?";
}

const std::vector<TransitionRule>& TransitionTable() {
  static const std::vector<TransitionRule>* table = new std::vector<TransitionRule>{
      {kQ, Kind::kLease, {kR}},
      {kR, Kind::kComplete, {kS}},
      {kR, Kind::kFail, {kQ, kF}},
      {kR, Kind::kRelease, {kQ, kF}},
      {kR, Kind::kExpire, {kQ, kF}},
      {kC, Kind::kExpire, {kC}},
      {kX, Kind::kExpire, {kX}},
      {kQ, Kind::kCancel, {kC}},
      {kR, Kind::kCancel, {kC}},
      {kC, Kind::kCancelAck, {kC}},
      {kX, Kind::kCancelAck, {kX}},
      {kQ, Kind::kStop, {kX}},
      {kR, Kind::kStop, {kX}},
      {kF, Kind::kRetry, {kQ}},
      {kC, Kind::kRetry, {kQ}},
      {kX, Kind::kRetry, {kQ}},
      {kF, Kind::kResubmit, {kQ}},
      {kC, Kind::kResubmit, {kQ}},
      {kX, Kind::kResubmit, {kQ}},
  };
  return *table;
}

StatusOr<Transition> Transit(const JobRecord& before, const Trigger& t) {
  const auto& table = TransitionTable();
  const bool allowed = std::any_of(table.begin(), table.end(), [&](const TransitionRule& r) {
    return r.from == before.state && r.trigger == t.kind;
  });
  if (!allowed)
    return FailedPreconditionError("job " + std::to_string(before.id) + " is " +
                                   JobStateName(before.state) + "; '" + TriggerName(t.kind) +
                                   "' does not apply in that state");
  Transition out;
  out.job = before;
  JobRecord& job = out.job;
  job.updated_ms = t.now_ms;
  out.has_event = true;
  out.event.from_state = JobStateName(before.state);
  out.event.worker_id = before.lease_owner;
  std::string& reason = out.event.reason;
  // Every trigger that moves a job out of running ends its lease.
  auto end_lease = [&](const char* outcome) {
    if (before.state != kR) return;
    out.lease_outcome = outcome;
    out.lease_attempt = before.attempt;
  };

  switch (t.kind) {
    case Kind::kLease:
      job.state = kR;
      job.lease_token = t.token;
      job.lease_owner = t.worker_id;
      job.lease_expiry_ms = t.now_ms + t.lease_ttl_ms;
      job.started_ms = t.now_ms;
      out.event.worker_id = t.worker_id;
      reason = "leased by worker " + std::to_string(t.worker_id) + " (" + t.worker_name + ")";
      break;

    case Kind::kComplete:
      DropLease(&job);
      job.result_json = t.text;
      job.error.clear();
      Finish(&job, kS, t.now_ms);
      end_lease("succeeded");
      reason = "completed";
      break;

    case Kind::kFail: {
      DropLease(&job);
      end_lease("failed");
      job.error = t.text;
      job.retryable = t.retryable;
      job.failures += 1;
      reason = "attempt " + std::to_string(before.attempt) + " failed" +
               (t.retryable ? " (retryable)" : " (not retryable)") + ": " + t.text;
      if (t.retryable && job.attempt < job.max_attempts) {
        job.attempt += 1;
        Requeue(&job, t.now_ms);
      } else {
        Finish(&job, kF, t.now_ms);
        if (t.retryable) reason += "; no attempts left";
      }
      break;
    }

    case Kind::kRelease:
      DropLease(&job);
      end_lease(t.release == ReleaseKind::kOutOfMemory ? "out_of_memory" : "released");
      job.requirements.memory_estimate_gb =
          std::max(job.requirements.memory_estimate_gb, t.memory_estimate_gb);
      if (t.release == ReleaseKind::kOutOfMemory && !before.oom_counted) {
        job.oom_counted = true;
        job.error = "out of memory" + Suffix(t.text);
        job.retryable = true;
        job.failures += 1;
        reason = "attempt " + std::to_string(before.attempt) + " ran out of memory" + Suffix(t.text) +
                 " (estimate raised to " + std::to_string(job.requirements.memory_estimate_gb) + " GB)";
        if (job.attempt < job.max_attempts) {
          job.attempt += 1;
          Requeue(&job, t.now_ms);
        } else {
          reason += "; no attempts left";
          Finish(&job, kF, t.now_ms);
        }
        break;
      }
      job.losses += 1;
      reason = "released" + Suffix(t.text);
      if (LossesLeft(job, t)) {
        Requeue(&job, t.now_ms);  // attempt unchanged: a drain is not a failure
      } else {
        reason += " (" + LossText(job, t) + "; no losses left)";
        job.error = reason;
        job.retryable = true;
        Finish(&job, kF, t.now_ms);
      }
      break;

    case Kind::kExpire:
      DropLease(&job);
      if (before.state == kC || before.state == kX) {  // its worker never came back to hear of it
        out.has_event = false;
        break;
      }
      end_lease("lost");
      job.losses += 1;
      reason = "lease of attempt " + std::to_string(before.attempt) + " expired (worker " +
               std::to_string(before.lease_owner) + " silent; " + LossText(job, t) + ")";
      if (LossesLeft(job, t)) {
        // A new attempt (its metrics are a new lineage) that costs no failure.
        job.attempt += 1;
        job.max_attempts += 1;
        Requeue(&job, t.now_ms);
      } else {
        reason += "; no losses left";
        job.error = reason;
        job.retryable = true;
        Finish(&job, kF, t.now_ms);
      }
      break;

    case Kind::kCancel:
      // A running job keeps its token: its worker hears of it on the next heartbeat.
      Finish(&job, kC, t.now_ms);
      end_lease("cancelled");
      if (before.state != kR) out.event.worker_id = 0;
      reason = (t.sweep_id != 0 ? "sweep " + std::to_string(t.sweep_id) + " cancelled"
                                : std::string("cancelled")) +
               Suffix(t.text);
      break;

    case Kind::kCancelAck:
      DropLease(&job);
      out.has_event = false;
      break;

    case Kind::kStop:
      // A running job keeps its token, as with a cancel.
      Finish(&job, kX, t.now_ms);
      end_lease("stopped");
      if (before.state != kR) out.event.worker_id = 0;
      job.error = t.text;
      job.retryable = false;
      reason = "stopped early: " + t.text;
      break;

    case Kind::kRetry:
      FreshWindow(&job, t.budget, t.now_ms);
      out.event.worker_id = 0;
      reason = "retried by user";
      break;

    case Kind::kResubmit:
      FreshWindow(&job, t.budget, t.now_ms);
      job.priority = t.priority;
      out.event.worker_id = 0;
      reason = "resubmitted in sweep " + std::to_string(t.sweep_id);
      break;
  }
  return out;
}

}  // namespace lcsweep
