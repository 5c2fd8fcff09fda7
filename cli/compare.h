// `lcsweep compare SWEEP --ref CELL`: every seed group (cell) of a sweep
// against one reference cell, and against its published number where one
// exists: difference of means, 95% CI, two-sided p, the test used (paired
// by seed or Welch), the n < 3 flag and the seeds needed for significance
// (analysis/significance.h has the statistics; this file renders).
// Formats as `results`: table, markdown and LaTeX in display units
// (accuracies in percent points; LaTeX marks the best mean in bold, the
// second best underlined, and significance against the reference with a
// dagger explained under the table); CSV and JSON raw (fractions).
// Thread-safety: RenderCompare is pure; RunCompare one per process.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "analysis/figures.h"
#include "cli/connection.h"
#include "cli/io.h"
#include "cli/results.h"
#include "common/status.h"

namespace lcsweep::cli {

struct CompareArgs {
  int64_t sweep = 0;
  std::string ref;                              // cell reference (analysis/cell_ref.h)
  std::string metric = analysis::kDefaultFigure;
  std::string format = "table";                 // table | markdown | csv | json | latex
  int decimals = 2;
  bool bootstrap = false;
  uint64_t bootstrap_seed = 0;
};

// INVALID_ARGUMENT for a bad format or metric, or a reference that names
// no single cell with a result; NOT_FOUND when nothing has succeeded.
StatusOr<std::string> RenderCompare(const std::vector<GroupView>& groups, const CompareArgs& args);

// FetchResults and the sweep's jobs (their figures by seed and configs), then RenderCompare.
int RunCompare(const ConnectionFlags& flags, const CompareArgs& args, Io io);

}  // namespace lcsweep::cli
