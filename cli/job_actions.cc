#include "cli/job_actions.h"

#include <vector>

#include "cli/call.h"
#include "cli/jobs.h"
#include "proto/convert.h"

namespace lcsweep::cli {

std::string RenderCancelledSweep(int64_t sweep_id, const v1::CancelSweepResponse& resp) {
  return "cancelled sweep " + std::to_string(sweep_id) + ": " + std::to_string(resp.cancelled()) +
         " queued jobs cancelled, " + std::to_string(resp.cancel_requested()) + " running jobs told to stop, " +
         std::to_string(resp.skipped_shared()) + " left alone (shared with another live sweep), " +
         std::to_string(resp.already_finished()) + " already finished\n";
}

std::string RenderJobState(const v1::Job& job) {
  return "job " + std::to_string(job.id()) + " is " + JobStateName(job.state()) + "\n";
}

std::string RenderRetried(const v1::Job& job) {
  return "job " + std::to_string(job.id()) + " is " + JobStateName(job.state()) + " (attempt " +
         std::to_string(job.attempt()) + " of " + std::to_string(job.max_attempts()) + ")\n";
}

int RunCancel(const ConnectionFlags& flags, int64_t job_id, int64_t sweep_id, const std::string& reason, Io io) {
  return RunCommand(flags, io, [&](Connection& c) -> Status {
    if (sweep_id) {
      v1::CancelSweepRequest req;
      req.set_sweep_id(sweep_id);
      req.set_reason(reason);
      v1::CancelSweepResponse resp;
      LCSWEEP_RETURN_IF_ERROR(Call(c, &v1::JobService::Stub::CancelSweep, req, &resp,
                                   "cancelling sweep " + std::to_string(sweep_id)));
      io.out << RenderCancelledSweep(sweep_id, resp);
      return OkStatus();
    }
    v1::CancelJobRequest req;
    req.set_job_id(job_id);
    req.set_reason(reason);
    v1::CancelJobResponse resp;
    LCSWEEP_RETURN_IF_ERROR(
        Call(c, &v1::JobService::Stub::CancelJob, req, &resp, "cancelling job " + std::to_string(job_id)));
    io.out << RenderJobState(resp.job());
    return OkStatus();
  });
}

int RunRetry(const ConnectionFlags& flags, int64_t job_id, int64_t sweep_id, Io io) {
  return RunCommand(flags, io, [&](Connection& c) -> Status {
    auto retry = [&](int64_t id) -> Status {
      v1::RetryJobRequest req;
      req.set_job_id(id);
      v1::RetryJobResponse resp;
      LCSWEEP_RETURN_IF_ERROR(Call(c, &v1::JobService::Stub::RetryJob, req, &resp, "retrying job " + std::to_string(id)));
      io.out << RenderRetried(resp.job());
      return OkStatus();
    };
    if (!sweep_id) return retry(job_id);
    LCSWEEP_ASSIGN_OR_RETURN(auto jobs, FetchJobs(c, sweep_id, {v1::JOB_STATE_FAILED, v1::JOB_STATE_CANCELLED}));
    if (jobs.empty()) {
      io.out << "sweep " << sweep_id << " has no failed or cancelled jobs; nothing to retry\n";
      return OkStatus();
    }
    size_t failures = 0;
    Status last;
    for (const auto& j : jobs) {
      Status st = retry(j.id());
      if (st.ok()) continue;
      io.err << "error: " << st.message() << "\n";  // and go on with the others
      last = st;
      ++failures;
    }
    io.out << "re-queued " << jobs.size() - failures << " of " << jobs.size() << " jobs\n";
    if (failures == 0) return OkStatus();
    return Status(last.code(), std::to_string(failures) + " of " + std::to_string(jobs.size()) +
                                   " jobs of sweep " + std::to_string(sweep_id) + " could not be re-queued");
  });
}

}  // namespace lcsweep::cli
