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
  // The figure of GroupViewsOf's `metric` per succeeded job, with its seed
  // (significance tests pair arms by seed); empty without jobs.
  std::vector<analysis::SeedValue> seed_values;
};

struct ResultsOptions {
  std::vector<std::string> rows;      // empty = every swept axis except cols
  std::string cols;                   // empty = the swept axis with the fewest values ("-" = none)
  std::string metric = analysis::kDefaultFigure;
  std::string format = "table";       // table | markdown | csv | json | latex
  bool vs_paper = false;
  int decimals = 2;
  // --vs: a cell reference (analysis/cell_ref.h); every cell gets its
  // difference to that cell, 95% CI and p (analysis/significance.h).
  std::string vs;
  bool bootstrap = false;          // add the percentile bootstrap CI
  uint64_t bootstrap_seed = 0;
};

// The groups of a GetResults response; `jobs` (may be empty) supplies each
// group's config, by its first job id, for --vs-paper, and (with `metric`)
// the seed_values of its succeeded jobs, matched by group hash.
std::vector<GroupView> GroupViewsOf(const v1::GetResultsResponse& response, const std::vector<v1::Job>& jobs,
                                    const std::string& metric = "");

// The analysis view of `groups` for one figure (published numbers looked
// up when `vs_paper` and the figure is comparable with them).
std::vector<analysis::GroupFigure> FiguresOf(const std::vector<GroupView>& groups, const std::string& metric,
                                             bool vs_paper);

// A p-value as text: "<0.001", else three decimals; "-" for NaN.
std::string PValueText(double p);

// Per value: 1 for the best, 2 for the second best (ties share a rank),
// 0 for the rest and for NaN; `higher_is_better` says which end is best.
std::vector<int> BestRanks(const std::vector<double>& values, bool higher_is_better);

// The LaTeX footnote symbol of "significantly different from the reference".
inline constexpr const char* kLatexSignificantMark = "$^{\\dagger}$";

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
