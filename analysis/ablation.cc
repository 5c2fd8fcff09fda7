// The ablation plot's lines (see ablation.h).
#include "analysis/ablation.h"

#include <algorithm>
#include <limits>
#include <map>

namespace lcsweep::analysis {
namespace {

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

AblationPlot Ablation(const std::vector<GroupFigure>& groups, const std::string& x,
                      std::vector<std::string> series, const std::string& label_if_single) {
  AblationPlot plot;
  plot.varying_axes = VaryingAxes(groups);
  if (series.empty()) {
    const bool variant_varies = Contains(plot.varying_axes, kVariantAxis);
    for (const auto& a : plot.varying_axes) {
      if (a == x) continue;
      if (variant_varies && (a == kModeAxis || a == kSpatialAxis)) continue;
      series.push_back(a);
    }
  }
  plot.series_axes = series;
  std::vector<std::string> chosen = series;
  chosen.push_back(x);
  for (const auto& a : plot.varying_axes) {
    if (!AxisCovered(a, chosen)) plot.pooled_axes.push_back(a);
  }

  struct Point {
    nlohmann::json x;
    std::vector<Stats> parts;
  };
  struct Line {
    nlohmann::json key = nlohmann::json::object();
    std::map<std::string, Point> points;  // by x dump
    bool all_plain = true;
  };
  std::map<std::string, Line> lines;
  for (const auto& g : groups) {
    if (g.stats.n == 0) continue;
    nlohmann::json xv = AxisValue(g, x);
    if (xv.is_null()) continue;
    const bool plain = x == kLcRateAxis && xv == kPlainConvLabel;
    std::string label;
    nlohmann::json key = nlohmann::json::object();
    for (const auto& s : series) {
      const nlohmann::json v = AxisValue(g, s);
      key[s] = v;
      if (!label.empty()) label += ", ";
      if (series.size() > 1 || s != kVariantAxis) label += s.substr(s.rfind('.') + 1) + "=";
      label += AxisValueText(v);
    }
    if (label.empty()) label = label_if_single;
    Line& line = lines[label];
    line.key = key;
    if (!plain) line.all_plain = false;
    if (plain) xv = nullptr;  // a reference line: one point, no x of its own
    Point& p = line.points[xv.dump()];
    p.x = xv;
    p.parts.push_back(g.stats);
  }
  double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin;
  for (auto& [label, line] : lines) {
    AblationLine out;
    out.label = label;
    out.key = line.key;
    out.baseline = line.all_plain && x == kLcRateAxis;
    for (auto& [k, p] : line.points) {
      if (!p.x.is_number() && !p.x.is_null()) plot.numeric_x = false;
      if (p.x.is_number()) {
        xmin = std::min(xmin, p.x.get<double>());
        xmax = std::max(xmax, p.x.get<double>());
      }
      out.points.push_back(AblationPoint{p.x, PoolStats(p.parts), static_cast<int64_t>(p.parts.size())});
    }
    std::sort(out.points.begin(), out.points.end(),
              [](const AblationPoint& a, const AblationPoint& b) { return JsonLess(a.x, b.x); });
    plot.lines.push_back(std::move(out));
  }
  plot.log_x = plot.numeric_x && xmin > 0 && xmin <= xmax && (EndsWith(x, "lc_rate") || xmax / xmin >= 16);
  return plot;
}

}  // namespace lcsweep::analysis
