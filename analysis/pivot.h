// Pivot: one figure's seed statistics laid out by row axes and one column
// axis, the table that `lcsweep results` prints and the dashboard's
// "Results over seeds" shows. Groups that fall into one cell (axes that
// are neither rows nor the column) are pooled exactly (PoolStats), and those
// axes are reported, so a front end can refuse (the CLI) or say so (the
// dashboard).
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/groups.h"

namespace lcsweep::analysis {

struct PivotSpec {
  std::vector<std::string> rows;  // row axes (may be empty: one row)
  std::string col;                // column axis; "" = a single column
};

struct PivotCell {
  Stats stats;                    // pooled over the cell's groups (n == 0: no result yet)
  int64_t groups = 0;             // seed groups in the cell
  std::vector<SeedValue> seed_values;  // of the cell's groups, concatenated
  int64_t n_jobs = 0;             // their jobs, any state
  // Set when every group of the cell has the same published number.
  std::optional<PublishedNumber> published;
  std::vector<std::string> recipe_differences;  // of the cell's groups, each once
};

struct PivotTable {
  std::vector<std::vector<nlohmann::json>> row_keys;  // sorted (JsonLess, axis by axis)
  std::vector<nlohmann::json> col_values;             // sorted; {""} when spec.col is ""
  // cells[r][c]; nullopt where no group has that combination.
  std::vector<std::vector<std::optional<PivotCell>>> cells;
  std::vector<std::string> pooled_axes;  // varying axes neither rows nor col
  int64_t published_cells = 0;          // cells with a result and a published number
  std::string first_mismatch;            // why the first unmatched group has no published number
};

PivotTable Pivot(const std::vector<GroupFigure>& groups, const PivotSpec& spec);

}  // namespace lcsweep::analysis
