// The pivot over seed groups (see pivot.h).
#include "analysis/pivot.h"

#include <algorithm>
#include <map>
#include <set>

namespace lcsweep::analysis {
namespace {

bool KeyLess(const std::vector<nlohmann::json>& a, const std::vector<nlohmann::json>& b) {
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (JsonLess(a[i], b[i])) return true;
    if (JsonLess(b[i], a[i])) return false;
  }
  return a.size() < b.size();
}

std::string KeyText(const std::vector<nlohmann::json>& key) { return nlohmann::json(key).dump(); }

}  // namespace

PivotTable Pivot(const std::vector<GroupFigure>& groups, const PivotSpec& spec) {
  PivotTable t;
  std::vector<std::string> chosen = spec.rows;
  if (!spec.col.empty()) chosen.push_back(spec.col);
  for (const auto& a : VaryingAxes(groups)) {
    if (!AxisCovered(a, chosen)) t.pooled_axes.push_back(a);
  }

  struct Acc {
    std::vector<Stats> parts;
    std::vector<SeedValue> seed_values;
    int64_t groups = 0, n_jobs = 0;
    std::set<std::string> published;  // sources ("" = none)
    std::optional<PublishedNumber> number;
    std::set<std::string> recipe;
  };
  std::map<std::string, std::vector<nlohmann::json>> row_of;  // key text -> key
  std::map<std::string, nlohmann::json> col_of;
  std::map<std::pair<std::string, std::string>, Acc> acc;
  for (const GroupFigure& g : groups) {
    std::vector<nlohmann::json> rk;
    for (const auto& r : spec.rows) rk.push_back(AxisValue(g, r));
    const nlohmann::json ck = spec.col.empty() ? nlohmann::json("") : AxisValue(g, spec.col);
    const std::string rt = KeyText(rk), ct = ck.dump();
    row_of.emplace(rt, rk);
    col_of.emplace(ct, ck);
    Acc& a = acc[{rt, ct}];
    if (g.stats.n > 0) a.parts.push_back(g.stats);
    a.seed_values.insert(a.seed_values.end(), g.seed_values.begin(), g.seed_values.end());
    ++a.groups;
    a.n_jobs += g.n_jobs;
    if (g.published && g.published->number) {
      a.published.insert(g.published->number->source);
      a.number = g.published->number;
      a.recipe.insert(g.published->recipe_differences.begin(), g.published->recipe_differences.end());
    } else {
      a.published.insert("");
      if (g.published && t.first_mismatch.empty()) t.first_mismatch = g.published->mismatch;
    }
  }
  for (auto& [text, key] : row_of) t.row_keys.push_back(key);
  for (auto& [text, v] : col_of) t.col_values.push_back(v);
  std::sort(t.row_keys.begin(), t.row_keys.end(), KeyLess);
  std::sort(t.col_values.begin(), t.col_values.end(), JsonLess);
  t.cells.resize(t.row_keys.size());
  for (size_t r = 0; r < t.row_keys.size(); ++r) {
    const std::string rt = KeyText(t.row_keys[r]);
    for (const auto& cv : t.col_values) {
      auto it = acc.find({rt, cv.dump()});
      if (it == acc.end()) {
        t.cells[r].push_back(std::nullopt);
        continue;
      }
      const Acc& a = it->second;
      PivotCell c;
      c.stats = a.parts.empty() ? Stats{} : PoolStats(a.parts);
      c.groups = a.groups;
      c.seed_values = a.seed_values;
      c.n_jobs = a.n_jobs;
      if (a.published.size() == 1 && !a.published.begin()->empty()) {
        c.published = a.number;
        c.recipe_differences.assign(a.recipe.begin(), a.recipe.end());
        if (c.stats.n > 0) ++t.published_cells;
      }
      t.cells[r].push_back(std::move(c));
    }
  }
  return t;
}

}  // namespace lcsweep::analysis
