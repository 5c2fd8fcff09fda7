// `lcsweep cancel` and `lcsweep retry`: change jobs' states, one job or
// every job of a sweep.
// Thread-safety: the Render* functions are pure; one Run* per process.
#pragma once

#include <cstdint>
#include <string>

#include "cli/connection.h"
#include "cli/io.h"
#include "lcsweep/v1/coordinator.pb.h"

namespace lcsweep::cli {

// Exactly one of job_id / sweep_id is non-zero.
int RunCancel(const ConnectionFlags& flags, int64_t job_id, int64_t sweep_id, const std::string& reason, Io io);
// A sweep: every failed or cancelled job of it, one RetryJob each; the ones
// refused are reported and the others still re-queued.
int RunRetry(const ConnectionFlags& flags, int64_t job_id, int64_t sweep_id, Io io);

// "cancelled sweep 3: 2 queued jobs cancelled, 1 running jobs told to stop, ...".
std::string RenderCancelledSweep(int64_t sweep_id, const v1::CancelSweepResponse& resp);
// "job 7 is cancelled" (the state the job is in after the call).
std::string RenderJobState(const v1::Job& job);
// "job 7 is queued (attempt 2 of 3)".
std::string RenderRetried(const v1::Job& job);

}  // namespace lcsweep::cli
