// `lcsweep results`: fetching the groups (and, for --vs-paper and --vs, the
// jobs); the rendering is cli/results.cc's.
#include "cli/call.h"
#include "cli/jobs.h"
#include "cli/results.h"

namespace lcsweep::cli {

StatusOr<v1::GetResultsResponse> FetchResults(Connection& c, int64_t sweep_id) {
  v1::GetResultsResponse all;
  for (std::string token;;) {
    v1::GetResultsRequest req;
    req.set_sweep_id(sweep_id);
    req.set_page_token(token);
    v1::GetResultsResponse page;
    LCSWEEP_RETURN_IF_ERROR(
        Call(c, &v1::JobService::Stub::GetResults, req, &page, "results of sweep " + std::to_string(sweep_id)));
    for (auto& g : *page.mutable_groups()) *all.add_groups() = std::move(g);
    all.set_pending_jobs(page.pending_jobs());
    token = page.next_page_token();
    if (token.empty()) break;
  }
  return all;
}

int RunResults(const ConnectionFlags& flags, int64_t sweep_id, const ResultsOptions& options, Io io) {
  return RunCommand(flags, io, [&](Connection& c) -> Status {
    LCSWEEP_ASSIGN_OR_RETURN(v1::GetResultsResponse resp, FetchResults(c, sweep_id));
    std::vector<v1::Job> jobs;  // their configs, for --vs-paper; their figures by seed, for --vs
    if (options.vs_paper || !options.vs.empty()) {
      LCSWEEP_ASSIGN_OR_RETURN(jobs, FetchJobs(c, sweep_id, {}));
    }
    StatusOr<std::string> text =
        RenderResults(GroupViewsOf(resp, jobs, options.vs.empty() ? "" : options.metric), options);
    if (!text.ok()) {
      return Status(text.status().code(), "sweep " + std::to_string(sweep_id) + ": " + text.status().message());
    }
    io.out << *text;
    if (resp.pending_jobs() > 0 && (options.format == "table" || options.format == "markdown")) {
      io.out << resp.pending_jobs() << " jobs of the sweep have not succeeded (yet); they are not counted\n";
    }
    return OkStatus();
  });
}

}  // namespace lcsweep::cli
