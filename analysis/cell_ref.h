// A reference to one cell of a results table, as users type it:
// "lc_rate=8,spatial=frozen" or "model.conv.lc_rate=8,variant=LC frozen".
// Keys are axis paths, or their last part when that names one axis only
// ("variant" is the derived axis of groups.h); values compare with the
// axis value's text (AxisValueText), so 8 and "8" both match 8. The
// reference for `lcsweep compare --ref`, `lcsweep results --vs` and the
// dashboard pivot's reference.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "analysis/groups.h"
#include "common/status.h"

namespace lcsweep::analysis {

struct CellRef {
  std::vector<std::pair<std::string, std::string>> pairs;  // key (as typed) -> value text
};

// INVALID_ARGUMENT for an empty reference or a pair without "=".
StatusOr<CellRef> ParseCellRef(const std::string& text);

// The axis path `key` names among `axes` (full path first, then a unique
// last part); "" when none, or (ambiguous) when several share the last part.
std::string ResolveAxis(const std::string& key, const std::vector<std::string>& axes);

// Whether `g` has every pair of `ref` (keys resolved against `axes`).
bool MatchesCellRef(const GroupFigure& g, const CellRef& ref, const std::vector<std::string>& axes);

// Checks that every key of `ref` names one of `axes` (or "variant");
// INVALID_ARGUMENT says which does not and lists the axes.
Status CheckCellRef(const CellRef& ref, const std::vector<std::string>& axes);

}  // namespace lcsweep::analysis
