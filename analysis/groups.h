// GroupFigure: one seed group's statistics for one figure, with what the
// pivot and the ablation need to place it: its swept axes, the derived
// "variant" axis and, optionally, its published number. Plus the axis rules
// both views share.
//
// Axes: the swept config paths of the group ("model.conv.lc_rate"), seed
// removed, and two derived ones:
//   "variant"             "LC frozen", "LC learned", "plain learned", "plain frozen"
//                         (from model.conv.mode and model.conv.spatial);
//   model.conv.lc_rate    reads "plain conv" for a plain conv, which has no LC rate.
// Axis values order numbers numerically, then strings, then the rest, and
// null last (JsonLess).
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/published.h"
#include "analysis/significance.h"
#include "analysis/stats.h"

namespace lcsweep::analysis {

inline constexpr const char* kVariantAxis = "variant";
inline constexpr const char* kLcRateAxis = "model.conv.lc_rate";
inline constexpr const char* kModeAxis = "model.conv.mode";
inline constexpr const char* kSpatialAxis = "model.conv.spatial";
inline constexpr const char* kPlainConvLabel = "plain conv";

// "LC frozen", "plain learned", ...
std::string VariantOf(const std::string& mode, const std::string& spatial);

struct GroupFigure {
  nlohmann::json axes = nlohmann::json::object();  // swept axes, seed removed
  // Config values of the group by dotted path, for axes it does not sweep
  // (optional; the dashboard keeps them, the CLI has only the swept axes).
  nlohmann::json summary = nlohmann::json::object();
  Stats stats;               // the figure over the group's succeeded jobs (n == 0: none yet)
  // The figure per succeeded job with its seed, for significance tests
  // (optional: only views that compare arms fill it).
  std::vector<SeedValue> seed_values;
  int64_t n_jobs = 0;        // jobs of the group, any state
  std::optional<PublishedMatch> published;  // looked up only when asked for
};

// The value of axis `path` for group `g` (derived axes included); null when unknown.
nlohmann::json AxisValue(const GroupFigure& g, const std::string& path);

// The axes that take more than one value among `groups` ("variant"
// included, seed never), sorted.
std::vector<std::string> VaryingAxes(const std::vector<GroupFigure>& groups);

// Whether choosing `chosen` axes separates the values of `axis`: "variant"
// is made of mode and spatial, so choosing it covers them, and it is never
// left uncovered itself (its parts are checked instead).
bool AxisCovered(const std::string& axis, const std::vector<std::string>& chosen);

bool JsonLess(const nlohmann::json& a, const nlohmann::json& b);

// The text of an axis value: strings bare, null empty, everything else as JSON.
std::string AxisValueText(const nlohmann::json& v);

}  // namespace lcsweep::analysis
