// Ablation: one figure against an x axis, one line per combination of the
// series axes, mean and std error over seeds per point (the dashboard's
// ablation plot). Groups that share a point (axes that are neither x nor a
// series) are pooled exactly and those axes reported.
// Thread-safety: pure function.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/groups.h"

namespace lcsweep::analysis {

struct AblationPoint {
  nlohmann::json x;
  Stats stats;       // pooled over the point's groups
  int64_t groups = 0;
};

struct AblationLine {
  std::string label;                               // e.g. "LC frozen", "spatial=frozen, depth=20"
  nlohmann::json key = nlohmann::json::object();   // series axis -> value
  // A plain-conv line against the LC rate: it has no LC rate, a reference line.
  bool baseline = false;
  std::vector<AblationPoint> points;               // sorted by x (JsonLess)
};

struct AblationPlot {
  std::vector<std::string> series_axes;  // as used (defaulted when none was given)
  std::vector<std::string> pooled_axes;
  std::vector<std::string> varying_axes;
  bool numeric_x = true;
  bool log_x = false;                    // lc_rate, or positive x spanning 16x or more
  std::vector<AblationLine> lines;       // sorted by label
};

// `series` empty: every varying axis except x ("variant" standing for mode
// and spatial when it varies). `label_if_single` names the line when there
// are no series axes. Groups without a result or an x value are left out.
AblationPlot Ablation(const std::vector<GroupFigure>& groups, const std::string& x,
                      std::vector<std::string> series, const std::string& label_if_single);

}  // namespace lcsweep::analysis
