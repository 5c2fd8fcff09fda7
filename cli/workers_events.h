// `lcsweep workers` (the registered workers and the jobs they hold) and
// `lcsweep events` (the audit trail of a job or a sweep).
// Thread-safety: the Render* functions are pure; the Fetch* functions are
// as thread-safe as the connection's stub.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/connection.h"
#include "cli/io.h"
#include "common/status.h"
#include "lcsweep/v1/coordinator.pb.h"

namespace lcsweep::cli {

int RunWorkers(const ConnectionFlags& flags, bool all, bool json, Io io);
// Exactly one of job_id / sweep_id is non-zero.
int RunEvents(const ConnectionFlags& flags, int64_t job_id, int64_t sweep_id, bool json, Io io);

// Every worker (`all`: also those not seen within one lease period),
// following next_page_token.
StatusOr<std::vector<v1::Worker>> FetchWorkers(Connection& c, bool all);

// A table, a hint when there are none, or (json) a ListWorkersResponse.
std::string RenderWorkers(const std::vector<v1::Worker>& workers, bool all, bool json, int64_t now_ms);

// The whole audit trail of a job (job_id) or of a sweep's jobs (sweep_id),
// page after page (after_id = the last id seen), oldest first.
StatusOr<std::vector<v1::Event>> FetchEvents(Connection& c, int64_t job_id, int64_t sweep_id);

// A table, or (json) a ListEventsResponse holding them all.
std::string RenderEvents(const std::vector<v1::Event>& events, bool json);

}  // namespace lcsweep::cli
