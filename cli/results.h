// `lcsweep results`: a pivot table of one figure (mean ± std (n) over seeds)
// from the result groups of GetResults, with the published numbers beside
// the measured ones on request. What a figure is, the default figure, which
// figures are shown in percent, the pivot itself and the published numbers
// are analysis/'s (the dashboard shows the same cells); this file parses
// the response and renders.
//
// Rows are keyed by the values of one or more swept axes (or "variant"),
// columns by one axis. Formats: text table, markdown, LaTeX (human:
// accuracies in percent), CSV and JSON (long format, one record per cell,
// raw values as stored: accuracies as fractions).
// Thread-safety: pure functions, but for FetchResults (as thread-safe as
// the connection's stub) and RunResults (one per process).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/figures.h"
#include "analysis/groups.h"
#include "analysis/stats.h"
#include "cli/connection.h"
#include "cli/io.h"
#include "common/job_config.h"
#include "common/status.h"
#include "lcsweep/v1/coordinator.pb.h"
#include "lcsweep/v1/spec.pb.h"

namespace lcsweep::cli {

using ResultCell = analysis::Stats;

// One result group as the pivot needs it.
struct GroupView {
  nlohmann::json axes = nlohmann::json::object();  // swept axis path -> value (no seed)
  std::map<std::string, ResultCell> figures;
  std::optional<JobConfig> config;                 // of one job of the group (for --vs-paper)
  int64_t n_jobs = 0;                              // jobs of the group (any state)
};

struct ResultsOptions {
  std::vector<std::string> rows;      // empty = every swept axis except cols
  std::string cols;                   // empty = the swept axis with the fewest values ("-" = none)
  std::string metric = analysis::kDefaultFigure;
  std::string format = "table";       // table | markdown | csv | json | latex
  bool vs_paper = false;
  int decimals = 2;
};

// The groups of a GetResults response; `jobs` (may be empty) supplies each
// group's config, by its first job id, for --vs-paper.
std::vector<GroupView> GroupViewsOf(const v1::GetResultsResponse& response, const std::vector<v1::Job>& jobs);

// The rendered output. INVALID_ARGUMENT names unknown axes or metrics (and
// lists the available ones); NOT_FOUND when no group has results yet.
StatusOr<std::string> RenderResults(const std::vector<GroupView>& groups,
                                    const ResultsOptions& options);

// `lcsweep results SWEEP` (cli/results_command.cc): FetchResults, then
// GroupViewsOf and RenderResults; the jobs' configs only with --vs-paper.
int RunResults(const ConnectionFlags& flags, int64_t sweep_id, const ResultsOptions& options, Io io);

// Every result group of the sweep, following next_page_token (groups are
// paged by size); pending_jobs from the last page.
StatusOr<v1::GetResultsResponse> FetchResults(Connection& c, int64_t sweep_id);

// The text of an axis value: strings bare, null empty, everything else as JSON.
using analysis::AxisValueText;

}  // namespace lcsweep::cli
