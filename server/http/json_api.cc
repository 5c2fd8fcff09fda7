// JsonApi: routing, sweeps, and the seed-aggregated views (pivot, ablation).
// Jobs, metrics and workers are in json_api_jobs.cc.
#include "server/http/json_api.h"

#include <algorithm>

#include "analysis/ablation.h"
#include "analysis/figures.h"
#include "analysis/groups.h"
#include "analysis/cell_ref.h"
#include "analysis/pivot.h"
#include "analysis/significance.h"

namespace lcsweep {
namespace {

using json = nlohmann::json;
using api::Param;
using api::SplitList;

json SweepJson(const SweepSummary& s) {
  json counts = json::object();
  for (int i = 0; i < kNumJobStates; ++i) counts[JobStateName(static_cast<JobState>(i))] = s.counts[i];
  counts["total"] = s.total_jobs;
  return json{{"id", s.sweep.id},
              {"name", s.sweep.name},
              {"description", s.sweep.description},
              {"priority", s.sweep.priority},
              {"max_attempts", s.sweep.max_attempts},
              {"tags", s.sweep.tags},
              {"created_ms", s.sweep.created_ms},
              {"cancelled_ms", s.sweep.cancelled_ms},
              {"counts", counts}};
}

// The index's rows (ascending id) as seed groups of figure `metric_id`:
// grouped by group hash, the figure's statistics over each group's
// succeeded jobs (analysis::ComputeStats, as the coordinator's GetResults).
std::vector<analysis::GroupFigure> GroupsOf(const std::vector<const JobIndex::Row*>& rows, uint32_t metric_id,
                                            bool with_published) {
  std::map<std::string, size_t> index;
  std::vector<analysis::GroupFigure> out;
  std::vector<std::vector<double>> values;
  for (const JobIndex::Row* r : rows) {
    const std::string key = r->group_hash.empty() ? "job:" + std::to_string(r->id) : r->group_hash;
    auto [it, added] = index.emplace(key, out.size());
    if (added) {
      analysis::GroupFigure g;
      g.axes = r->axes;
      g.axes.erase("seed");
      g.summary = r->group->summary;
      if (with_published) g.published = r->group->published;
      out.push_back(std::move(g));
      values.emplace_back();
    }
    ++out[it->second].n_jobs;
    if (r->state == JobState::kSucceeded) {
      if (const double* v = r->Figure(metric_id)) {
        values[it->second].push_back(*v);
        // The seed pairs arms in significance tests (the vs parameter of Results).
        auto seed = r->axes.find("seed");
        if (seed != r->axes.end() && seed->is_number_integer())
          out[it->second].seed_values.push_back({seed->get<int64_t>(), *v});
      }
    }
  }
  for (size_t i = 0; i < out.size(); ++i) out[i].stats = analysis::ComputeStats(values[i]);
  return out;
}

ApiResponse UnknownFigure(int64_t sweep_id, const std::string& metric) {
  return ErrorResponse(400, "no succeeded job of this sweep has the figure '" + metric + "'",
                       "pick one of the sweep's figures (GET /api/v1/sweeps/" + std::to_string(sweep_id) +
                           " lists them under \"figures\")");
}

}  // namespace

JsonApi::JsonApi(Coordinator* coordinator) : coordinator_(coordinator), index_(coordinator) {}

ApiResponse JsonApi::Handle(const ApiRequest& request) {
  static const std::string kPrefix = "/api/v1";
  if (request.path.compare(0, kPrefix.size(), kPrefix) != 0) {
    return ErrorResponse(404, "no such API path: " + request.path, "API paths start with /api/v1/");
  }
  std::vector<std::string> parts = SplitList(request.path.substr(kPrefix.size()), '/');
  const bool get = request.method == "GET" || request.method == "HEAD";
  const bool post = request.method == "POST";
  auto bad_method = [&] {
    return ErrorResponse(405, request.method + " is not allowed on " + request.path,
                         "reads use GET; cancel and retry use POST");
  };
  auto id_of = [&](const std::string& s, std::optional<int64_t>* out) -> std::optional<ApiResponse> {
    *out = api::ParseInt(s);
    if (!*out || **out <= 0) {
      return ErrorResponse(400, "'" + s + "' is not a valid id", "ids are positive integers, e.g. /api/v1/jobs/12");
    }
    return std::nullopt;
  };
  try {
    if (parts.empty()) return ApiResponse{200, json{{"api", "lcsweep dashboard"}, {"version", 1}}};
    const std::string& top = parts[0];
    if (top == "whoami" && parts.size() == 1) {
      if (request.token_presented && request.role.empty()) {
        return ErrorResponse(401, "the bearer token is not known to this coordinator",
                             "check the token against the coordinator's tokens file, or forget it in the page");
      }
      return ApiResponse{200, json{{"role", request.role.empty() ? "anonymous" : request.role},
                                   {"can_mutate", CanMutate(request.role)}}};
    }
    if (top == "schema" && parts.size() == 1) return get ? ApiResponse{200, analysis::SchemaJson()} : bad_method();
    if (top == "workers" && parts.size() == 1) return get ? Workers() : bad_method();
    if (top == "sweeps") {
      if (parts.size() == 1) return get ? ListSweeps() : bad_method();
      std::optional<int64_t> id;
      if (auto err = id_of(parts[1], &id)) return *err;
      if (parts.size() == 2) return get ? GetSweep(*id) : bad_method();
      if (parts.size() == 3) {
        if (parts[2] == "jobs") return get ? ListJobs(*id, request) : bad_method();
        if (parts[2] == "results") return get ? Results(*id, request) : bad_method();
        if (parts[2] == "ablation") return get ? Ablation(*id, request) : bad_method();
        if (parts[2] == "cost") return get ? Cost(*id) : bad_method();
        if (parts[2] == "cancel") return post ? CancelSweep(*id, request) : bad_method();
      }
    }
    if (top == "jobs" && parts.size() >= 2) {
      std::optional<int64_t> id;
      if (auto err = id_of(parts[1], &id)) return *err;
      if (parts.size() == 2) return get ? GetJob(*id) : bad_method();
      if (parts.size() == 3) {
        if (parts[2] == "metrics") return get ? Metrics(*id, request) : bad_method();
        if (parts[2] == "events") return get ? Events(*id) : bad_method();
        if (parts[2] == "cancel" || parts[2] == "retry") return post ? MutateJob(*id, parts[2], request) : bad_method();
      }
    }
  } catch (const json::exception& e) {
    return ErrorResponse(500, std::string("JSON error: ") + e.what(), "this is a bug in the dashboard API; please report it");
  }
  return ErrorResponse(404, "no such API path: " + request.path,
                       "see server/http/json_api.h for the routes, e.g. /api/v1/sweeps");
}

ApiResponse JsonApi::ListSweeps() {
  json out = json::array();
  for (const auto& s : coordinator_->ListSweeps()) out.push_back(SweepJson(s));
  return ApiResponse{200, json{{"sweeps", out}}};
}

ApiResponse JsonApi::GetSweep(int64_t id) {
  auto sweep = coordinator_->GetSweep(id);
  if (!sweep.ok()) return FromStatus(sweep.status(), "list the sweeps with GET /api/v1/sweeps");
  json out = SweepJson(*sweep);
  out["spec"] = json::parse(sweep->sweep.spec_json, nullptr, false);
  if (out["spec"].is_discarded()) out["spec"] = sweep->sweep.spec_json;
  index_.Read([&](const JobIndex::View& view) {
    const std::vector<const JobIndex::Row*> rows = view.SweepRows(id);
    // Axis path -> distinct values over the sweep's jobs (keyed by their JSON text).
    std::map<std::string, std::map<std::string, json>> axes;
    auto add = [&](const std::string& path, const json& v) { axes[path].emplace(v.dump(), v); };
    std::set<std::string> progress_names;
    for (const JobIndex::Row* row : rows) {
      for (auto it = row->axes.begin(); it != row->axes.end(); ++it) add(it.key(), it.value());
      add(analysis::kVariantAxis, row->group->summary[analysis::kVariantAxis]);
      for (const auto& [name, v] : row->progress.metrics) {
        if (!analysis::IsProgressCounter(name)) progress_names.insert("last:" + name);
      }
    }
    json axes_json = json::array();
    for (auto& [path, distinct] : axes) {
      if (path == analysis::kVariantAxis && distinct.size() < 2) continue;
      std::vector<json> vals;
      for (auto& [text, v] : distinct) vals.push_back(v);
      std::sort(vals.begin(), vals.end(), analysis::JsonLess);
      axes_json.push_back(json{{"path", path}, {"values", vals}});
    }
    out["axes"] = axes_json;
    // Figures of the succeeded jobs (what the ablation plot and pivot can show).
    const std::set<std::string> figures = view.FiguresOf(rows);
    // The job table's metric column: the figures outside arrays, then the
    // last reported value of each metric series.
    json job_metrics = json::array();
    for (const auto& f : figures) {
      if (f.find('[') == std::string::npos) job_metrics.push_back(f);
    }
    for (const auto& n : progress_names) job_metrics.push_back(n);
    json formats = json::object();
    for (const auto& f : figures) formats[f] = analysis::FigureFormatJson(f);
    out["figures"] = figures;
    out["figure_formats"] = formats;
    out["default_metric"] = analysis::DefaultFigure(figures);
    out["job_metrics"] = job_metrics;
  });
  return ApiResponse{200, out};
}

std::optional<ApiResponse> JsonApi::SweepGroups(int64_t sweep_id, const ApiRequest& request,
                                                bool published,
                                                std::set<std::string>* figures,
                                                std::string* metric,
                                                std::vector<analysis::GroupFigure>* groups) {
  auto sweep = coordinator_->GetSweep(sweep_id);
  if (!sweep.ok()) return FromStatus(sweep.status(), "list the sweeps with GET /api/v1/sweeps");
  index_.Read([&](const JobIndex::View& view) {
    const std::vector<const JobIndex::Row*> rows = view.SweepRows(sweep_id);
    *figures = view.FiguresOf(rows);
    *metric = Param(request, "metric", analysis::DefaultFigure(*figures));
    // Published numbers are of one figure only (analysis/published.h).
    *groups = GroupsOf(rows, view.FigureId(*metric),
                       published && analysis::PublishedComparability(*metric).empty());
  });
  if (!metric->empty() && !figures->empty() && !figures->count(*metric))
    return UnknownFigure(sweep_id, *metric);
  return std::nullopt;
}

ApiResponse JsonApi::Ablation(int64_t sweep_id, const ApiRequest& request) {
  std::set<std::string> figures;
  std::string metric;
  std::vector<analysis::GroupFigure> groups;
  if (auto refused = SweepGroups(sweep_id, request, /*published=*/false, &figures, &metric, &groups))
    return *refused;
  const std::string x = Param(request, "x", analysis::kLcRateAxis);
  const analysis::AblationPlot plot = analysis::Ablation(groups, x, SplitList(Param(request, "series")), metric);
  json series = json::array();
  for (const auto& line : plot.lines) {
    json points = json::array();
    for (const auto& p : line.points) {
      json s = analysis::StatsJson(p.stats);
      s["x"] = p.x;
      s["groups"] = p.groups;
      points.push_back(s);
    }
    series.push_back(json{{"label", line.label}, {"key", line.key}, {"baseline", line.baseline}, {"points", points}});
  }
  const analysis::FigureFormat format = analysis::DescribeFigure(metric);
  return ApiResponse{200, json{{"sweep_id", sweep_id},
                               {"metric", metric},
                               {"format", analysis::FigureFormatJson(metric)},
                               {"x", x},
                               {"series_axes", plot.series_axes},
                               {"pooled_axes", plot.pooled_axes},
                               {"varying_axes", plot.varying_axes},
                               {"numeric_x", plot.numeric_x},
                               {"log_x", plot.log_x},
                               {"percent", format.percent},
                               {"series", series}}};
}

ApiResponse JsonApi::Results(int64_t sweep_id, const ApiRequest& request) {
  std::set<std::string> figures;
  std::string metric;
  std::vector<analysis::GroupFigure> groups;
  if (auto refused = SweepGroups(sweep_id, request, /*published=*/true, &figures, &metric, &groups))
    return *refused;
  const std::vector<std::string> varying = analysis::VaryingAxes(groups);
  auto has = [&](const std::string& a) { return std::count(varying.begin(), varying.end(), a) > 0; };
  std::string rows_axis = Param(request, "rows");
  std::string cols_axis = Param(request, "cols");
  if (cols_axis.empty()) cols_axis = analysis::kVariantAxis;
  if (rows_axis.empty()) {
    rows_axis = has(analysis::kLcRateAxis) ? analysis::kLcRateAxis : "data.name";
    if (!has(rows_axis)) {
      for (const auto& a : varying) {
        if (a != analysis::kVariantAxis && a != cols_axis) {
          rows_axis = a;
          break;
        }
      }
    }
  }
  const analysis::PivotTable t = analysis::Pivot(groups, {{rows_axis}, cols_axis});
  // vs=AXIS=VALUE,AXIS=VALUE (analysis/cell_ref.h): the reference cell, named
  // by the rows and columns axes; every other cell gets its comparison.
  const analysis::PivotCell* ref = nullptr;
  std::pair<size_t, size_t> ref_at{0, 0};
  const std::string vs = Param(request, "vs");
  if (!vs.empty()) {
    auto cref = analysis::ParseCellRef(vs);
    if (!cref.ok()) return ErrorResponse(400, "vs: " + cref.status().message(), "vs=ROWS_AXIS=VALUE,COLS_AXIS=VALUE");
    for (size_t r = 0; r < t.row_keys.size() && ref == nullptr; ++r) {
      for (size_t c = 0; c < t.col_values.size(); ++c) {
        if (!t.cells[r][c] || t.cells[r][c]->stats.n == 0) continue;
        bool match = true;
        for (const auto& [key, value] : cref->pairs) {
          const json& v = key == rows_axis ? t.row_keys[r][0] : key == cols_axis ? t.col_values[c] : json();
          if ((key != rows_axis && key != cols_axis) || analysis::AxisValueText(v) != value) match = false;
        }
        if (match) {
          ref = &*t.cells[r][c];
          ref_at = {r, c};
          break;
        }
      }
    }
    if (ref == nullptr) {
      return ErrorResponse(400, "vs " + vs + ": no cell with a result has these values",
                           "name the reference by the rows axis (" + rows_axis + ") and the columns axis (" +
                               cols_axis + ")");
    }
  }
  json row_vals = json::array(), col_vals = t.col_values, table = json::array();
  for (const auto& rk : t.row_keys) row_vals.push_back(rk[0]);
  for (size_t r = 0; r < t.cells.size(); ++r) {
    json line = json::array();
    for (size_t ci = 0; ci < t.cells[r].size(); ++ci) {
      const auto& cell = t.cells[r][ci];
      if (!cell || cell->stats.n == 0) {
        line.push_back(nullptr);
        continue;
      }
      json c = analysis::StatsJson(cell->stats);
      c["groups"] = cell->groups;
      if (cell->published) c["published"] = analysis::PublishedJson(*cell->published, cell->recipe_differences);
      if (ref != nullptr) {
        c["reference"] = ref_at == std::make_pair(r, ci);
        if (!c["reference"].get<bool>())
          c["vs_ref"] = analysis::ComparisonJson(analysis::CompareArms(cell->seed_values, ref->seed_values));
      }
      line.push_back(c);
    }
    table.push_back(line);
  }
  return ApiResponse{200, json{{"sweep_id", sweep_id},
                               {"metric", metric},
                               {"format", analysis::FigureFormatJson(metric)},
                               {"rows_axis", rows_axis},
                               {"cols_axis", cols_axis},
                               {"rows", row_vals},
                               {"cols", col_vals},
                               {"cells", table},
                               {"published_cells", t.published_cells},
                               {"published_figure", analysis::kPublishedFigure},
                               {"published_note", analysis::PublishedComparability(metric)},
                               {"percent", analysis::DescribeFigure(metric).percent},
                               {"pooled_axes", t.pooled_axes},
                               {"figures", figures},
                               {"vs", vs.empty() ? json() : json(vs)},
                               {"varying_axes", varying}}};
}

ApiResponse JsonApi::CancelSweep(int64_t sweep_id, const ApiRequest& request) {
  if (!CanMutate(request.role)) {
    return request.role.empty()
               ? ErrorResponse(401, "cancelling needs an admin or client token",
                               "sign in on the page, or send Authorization: Bearer <token>")
               : ErrorResponse(403, "role '" + request.role + "' may not cancel", "use a token with the admin or client role");
  }
  auto r = coordinator_->CancelSweep(sweep_id, "cancelled from the dashboard");
  if (!r.ok()) return FromStatus(r.status(), "");
  return ApiResponse{200, json{{"cancelled", r->cancelled},
                               {"skipped_shared", r->skipped_shared},
                               {"already_finished", r->already_finished}}};
}

}  // namespace lcsweep
