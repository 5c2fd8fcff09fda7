// `lcsweep jobs` (a filtered job listing) and `lcsweep show` (one job in
// full: state, attempts, progress, checkpoint, history, config, figures).
// Thread-safety: the Render* and ParseStates functions are pure; the Fetch*
// functions are as thread-safe as the connection's stub.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/connection.h"
#include "cli/io.h"
#include "common/status.h"
#include "lcsweep/v1/coordinator.pb.h"

namespace lcsweep::cli {

struct JobsArgs {
  int64_t sweep = 0;
  std::vector<std::string> states;  // names, any of them; also comma-separated
  int64_t worker = 0;
  bool json = false;
};
int RunJobs(const ConnectionFlags& flags, const JobsArgs& args, Io io);
int RunShow(const ConnectionFlags& flags, int64_t job_id, bool json, Io io);

// The states named by --state values ("running,failed" counts as two).
// INVALID_ARGUMENT names the first unknown one.
StatusOr<std::vector<v1::JobState>> ParseStates(const std::vector<std::string>& names);

// Every job matching the filters (0 / empty = any), following next_page_token.
StatusOr<std::vector<v1::Job>> FetchJobs(Connection& c, int64_t sweep, const std::vector<v1::JobState>& states,
                                         int64_t worker = 0);

// A table and "N jobs", or (json) a ListJobsResponse holding them all.
std::string RenderJobs(const std::vector<v1::Job>& jobs, bool json, int64_t now_ms);

struct JobDetail {
  v1::GetJobResponse job;
  std::vector<v1::Event> events;  // its audit trail (empty if it could not be read)
};
// GetJob (NOT_FOUND for an unknown job) and the job's whole audit trail.
StatusOr<JobDetail> FetchJobDetail(Connection& c, int64_t job_id);

// `show`: the text view, or (json) the GetJobResponse.
std::string RenderShow(const JobDetail& detail, bool json, int64_t now_ms);

}  // namespace lcsweep::cli
