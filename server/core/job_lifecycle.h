// JobLifecycle: the job state machine as pure functions. Given a job as it
// is and what happened to it (a Trigger), Transit() returns the job as it
// must become and the audit entry to write, or the error the caller must
// return. No clock, no store, no locks: the Coordinator supplies `now`, lease
// tokens and budgets, commits the result and applies it to memory.
//
// The diagram (every arrow is one row of kTransitions in job_lifecycle.cc,
// which tests/server/job_lifecycle_test.cc walks row by row):
//
//             submit                lease                complete
//   (new) ───────────▶ queued ───────────────▶ running ───────────▶ succeeded
//                       ▲ ▲ ▲   release (drain)   │ │ │
//                       │ │ └─────────────────────┘ │ │ fail (not retryable, or
//                       │ │  fail (retryable, failures left) │   no failures left)
//                       │ └──────────────────────────┘ ├──────────────▶ failed
//                       │  expire (losses left)         │ expire (no losses left)
//                       │                               │
//     retry / resubmit  │      cancel (queued or running)            ▼
//   failed, cancelled ──┘   queued, running ─────────────────▶ cancelled
//
// Two budgets (a job is not blamed for its infrastructure):
//  - failures: a retryable error raised by the job. attempt + 1 and back to
//    queued while attempt < max_attempts, else failed. max_attempts is the
//    absolute number of the last attempt the job may fail in.
//  - losses: the job's worker went away (its lease expired: crash, kill,
//    preemption, a pause past the lease) or gave it back (drain). A lost
//    lease starts a new attempt (attempt + 1) but moves max_attempts up by
//    one too, so it costs no failure; the job fails for losses only when
//    `losses` reaches Trigger::max_losses (CoordinatorOptions, much larger
//    than max_attempts). A release keeps the attempt (the worker stored its
//    metrics and checkpoint first) and counts as a loss as well, so a job
//    that is drained forever still ends.
//  - memory: a release for out-of-memory or does-not-fit raises the job's
//    memory estimate to at least the worker's (never lowers it), so the
//    next lease asks for more. The first out-of-memory release of a job
//    counts as a retryable failure (attempt + 1, within max_attempts);
//    every later one, and every does-not-fit, is a loss like a drain, so a
//    job is charged one attempt for running out of memory at most once.
//  - retry (RetryJob) and resubmit (a failed/cancelled job linked by a new
//    submission) start a fresh window: failures = losses = 0, attempt + 1,
//    max_attempts = attempt - 1 + budget.
//
// A running job that is cancelled keeps its lease token so its worker hears
// of it on the next heartbeat (kCancelAck then clears the token without an
// audit entry); a cancelled job whose worker never comes back has its token
// cleared by kExpire, also without an audit entry.
//
// Early stopping (kStop, server/core/early_stopper.h) moves a queued or
// running job to stopped exactly as a cancel moves it to cancelled (the same
// token handling); it is its own state so that a stop is never read as a
// failure or a user's cancel, and retry / resubmit re-queue it.
//
// Thread-safety: pure functions over values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "server/core/types.h"

namespace lcsweep {

struct Trigger {
  enum class Kind {
    kLease,      // a worker leases the queued job
    kComplete,   // its worker reports success (text = the result JSON)
    kFail,       // its worker reports an error (text = message, retryable)
    kRelease,    // its worker gives it back (drain; text = reason)
    kExpire,     // its lease expired (the reaper)
    kCancel,     // a user cancels it (text = reason; sweep_id != 0: the sweep was cancelled)
    kCancelAck,  // the worker of a cancelled (or stopped) running job heard of it
    kStop,       // the sweep's early-stopping rule stops it (text = the rule's reason)
    kRetry,      // a user retries a failed/cancelled job (budget)
    kResubmit,   // a new submission links a failed/cancelled job (budget, priority, sweep_id)
  };
  Kind kind = Kind::kLease;
  int64_t now_ms = 0;
  std::string text;            // kComplete: result JSON; kFail: error; kRelease/kCancel/kStop: reason
  bool retryable = false;      // kFail
  std::string token;           // kLease: the fresh lease token
  int64_t worker_id = 0;       // kLease: the worker
  std::string worker_name;     // kLease: for the audit reason
  int64_t lease_ttl_ms = 0;    // kLease
  int budget = 1;              // kRetry / kResubmit: failure budget of the new window
  int priority = 0;            // kResubmit: the new sweep's priority
  int64_t sweep_id = 0;        // kResubmit / kCancel: the sweep involved
  int max_losses = 1;          // kExpire / kRelease: losses allowed before the job fails
  ReleaseKind release = ReleaseKind::kDrain;  // kRelease
  double memory_estimate_gb = 0;              // kRelease: raises requirements.memory_estimate_gb
};

const char* TriggerName(Trigger::Kind kind);

// The audit entry a transition writes (the Coordinator adds id and time).
struct EventDraft {
  std::string from_state;
  std::string reason;
  int64_t worker_id = 0;
};

struct Transition {
  JobRecord job;               // the job after the change (updated_ms = now)
  bool has_event = false;      // false: a bookkeeping change with no audit entry
  EventDraft event;
  // Non-empty when the change ends the running lease number job.leases
  // (attempt lease_attempt, worker event.worker_id): how it ended, for its
  // accounting row (AttemptUsage::outcome): "succeeded", "failed",
  // "released", "out_of_memory", "lost", "cancelled", "stopped".
  std::string lease_outcome;
  int lease_attempt = 0;
};

// The transition of `job` under `trigger`. FAILED_PRECONDITION when the
// trigger does not apply in the job's state (the message names both).
StatusOr<Transition> Transit(const JobRecord& job, const Trigger& trigger);

// One row of the table: from state, trigger, the states it may lead to.
struct TransitionRule {
  JobState from;
  Trigger::Kind trigger;
  std::vector<JobState> to;
};
// Every allowed (state, trigger) pair, for documentation and the table test.
const std::vector<TransitionRule>& TransitionTable();

}  // namespace lcsweep
