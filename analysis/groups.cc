// Axis rules shared by the pivot and the ablation (see groups.h).
#include "analysis/groups.h"

#include <algorithm>
#include <map>
#include <set>

namespace lcsweep::analysis {
namespace {

std::string StringAxis(const GroupFigure& g, const char* path, const char* dflt) {
  for (const nlohmann::json* source : {&g.axes, &g.summary}) {
    auto it = source->find(path);
    if (it != source->end() && it->is_string()) return it->get<std::string>();
  }
  return dflt;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

std::string VariantOf(const std::string& mode, const std::string& spatial) {
  return mode == "lc" ? "LC " + spatial : "plain " + mode;
}

nlohmann::json AxisValue(const GroupFigure& g, const std::string& path) {
  const std::string mode = StringAxis(g, kModeAxis, "lc");
  if (path == kVariantAxis) return VariantOf(mode, StringAxis(g, kSpatialAxis, "frozen"));
  if (path == kLcRateAxis && mode != "lc") return kPlainConvLabel;
  if (auto it = g.axes.find(path); it != g.axes.end()) return *it;
  if (auto it = g.summary.find(path); it != g.summary.end()) return *it;
  return nullptr;
}

std::vector<std::string> VaryingAxes(const std::vector<GroupFigure>& groups) {
  std::map<std::string, std::set<std::string>> values;
  for (const auto& g : groups) {
    for (auto it = g.axes.begin(); it != g.axes.end(); ++it) values[it.key()].insert(AxisValue(g, it.key()).dump());
    values[kVariantAxis].insert(AxisValue(g, kVariantAxis).dump());
  }
  std::vector<std::string> out;
  for (const auto& [path, vals] : values) {
    if (path != "seed" && vals.size() > 1) out.push_back(path);
  }
  return out;
}

bool AxisCovered(const std::string& axis, const std::vector<std::string>& chosen) {
  if (Contains(chosen, axis)) return true;
  // Derived from mode and spatial, which are checked themselves.
  if (axis == kVariantAxis) return true;
  if (axis == kModeAxis || axis == kSpatialAxis) return Contains(chosen, kVariantAxis);
  return false;
}

bool JsonLess(const nlohmann::json& a, const nlohmann::json& b) {
  if (a.is_null() != b.is_null()) return !a.is_null();
  if (a.is_number() && b.is_number()) return a.get<double>() < b.get<double>();
  if (a.is_number() != b.is_number()) return a.is_number();
  return AxisValueText(a) < AxisValueText(b);
}

std::string AxisValueText(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

}  // namespace lcsweep::analysis
