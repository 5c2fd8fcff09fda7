// `lcsweep cost SWEEP`: what the sweep's experiments used, per arm (seed
// group) and in total, from the coordinator's accounting rows (ListUsage):
// attempts and how they ended, wall, CPU and GPU hours (with the share spent
// on abandoned attempts), images, peak memory, energy and device models
// (analysis/cost.h computes the report; this file fetches and renders it).
// Formats: text table, markdown, LaTeX, CSV (one row per arm plus "total")
// and JSON (analysis::CostReportJson). --attempts lists the rows themselves.
// Thread-safety: RenderCost is pure; FetchUsage is as thread-safe as the
// connection's stub; RunCost one per process.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "analysis/cost.h"
#include "cli/connection.h"
#include "cli/io.h"
#include "common/status.h"
#include "lcsweep/v1/coordinator.pb.h"

namespace lcsweep::cli {

struct CostArgs {
  int64_t sweep = 0;
  std::string format = "table";  // table | markdown | csv | json | latex
  bool attempts = false;         // one row per attempt instead of per arm
};
int RunCost(const ConnectionFlags& flags, const CostArgs& args, Io io);

// Every accounting row of the sweep, following next_page_token.
StatusOr<std::vector<v1::AttemptUsage>> FetchUsage(Connection& c, int64_t sweep);

// The report over the sweep's jobs and their rows. The returned report
// points into `jobs` and `rows`: keep them alive while it is used.
analysis::CostReport CostOf(const std::vector<v1::Job>& jobs,
                            const std::vector<v1::AttemptUsage>& rows);

// INVALID_ARGUMENT for an unknown format.
StatusOr<std::string> RenderCost(const analysis::CostReport& report, const std::string& format);

// --attempts: one row per accounting row (JSON: {"attempts": [...]}, the
// proto's field names; the other formats a table).
StatusOr<std::string> RenderAttempts(const std::vector<v1::AttemptUsage>& rows,
                                     const std::string& format);

}  // namespace lcsweep::cli
