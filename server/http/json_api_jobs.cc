// JsonApi: the job table, job detail, metric series, audit trail, job
// mutations and workers (routing and the sweep views are in json_api.cc).
#include <algorithm>
#include <cmath>
#include <limits>

#include "analysis/figures.h"
#include "analysis/groups.h"
#include "server/http/downsample.h"
#include "server/http/job_query.h"
#include "server/http/json_api.h"

namespace lcsweep {
namespace {

using json = nlohmann::json;
using api::Lower;
using api::Param;
using api::ParamDouble;
using api::ParseInt;
using api::SplitList;

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 1000;
constexpr int kDefaultMaxPoints = 1000;

json RowValue(const JobIndex::Row& r, const std::string& path) {
  if (r.axes.contains(path)) return r.axes[path];
  if (r.group->summary.contains(path)) return r.group->summary[path];
  return nullptr;
}

json ProgressJson(const JobProgress& p) {
  return json{{"epoch", p.epoch}, {"step", p.step}, {"metrics", p.metrics}, {"updated_ms", p.updated_ms}};
}

}  // namespace

ApiResponse JsonApi::ListJobs(int64_t sweep_id, const ApiRequest& request) {
  auto sweep = coordinator_->GetSweep(sweep_id);
  if (!sweep.ok()) return FromStatus(sweep.status(), "list the sweeps with GET /api/v1/sweeps");

  std::set<JobState> states;
  for (const auto& s : SplitList(Param(request, "state"))) {
    auto st = ParseJobState(s);
    if (!st) {
      return ErrorResponse(400, "unknown job state '" + s + "'",
                           "use queued, running, succeeded, failed, cancelled or stopped (comma-separated)");
    }
    states.insert(*st);
  }
  int64_t offset = 0, limit = kDefaultPageSize;
  if (!Param(request, "offset").empty()) {
    auto v = ParseInt(Param(request, "offset"));
    if (!v || *v < 0) return ErrorResponse(400, "offset must be a non-negative integer", "e.g. offset=50");
    offset = *v;
  }
  if (!Param(request, "limit").empty()) {
    auto v = ParseInt(Param(request, "limit"));
    if (!v || *v < 1 || *v > kMaxPageSize) {
      return ErrorResponse(400, "limit must be between 1 and 1000", "page through larger tables with offset");
    }
    limit = *v;
  }
  const std::string order = Param(request, "order", "asc");
  if (order != "asc" && order != "desc") return ErrorResponse(400, "order must be asc or desc", "e.g. order=desc");
  const std::string metric = Param(request, "metric");
  const std::string sort = Param(request, "sort", "id");

  std::optional<ApiResponse> error;
  json out;
  index_.Read([&](const JobIndex::View& view) {
    const std::vector<const JobIndex::Row*> rows = view.SweepRows(sweep_id);
    const uint32_t metric_id = view.FigureId(metric);
    // Columns: the axes the sweep varies (seed last), in a stable order.
    std::set<std::string> axis_set;
    for (const JobIndex::Row* r : rows) {
      for (auto it = r->axes.begin(); it != r->axes.end(); ++it) axis_set.insert(it.key());
    }
    std::vector<std::string> columns;
    for (const auto& a : axis_set) {
      if (a != "seed") columns.push_back(a);
    }
    if (axis_set.count("seed")) columns.push_back("seed");

    auto value_of = [&](const JobIndex::Row& r, const std::string& key) -> json {
      if (key == "id") return r.id;
      if (key == "state") return JobStateName(r.state);
      if (key == "attempt") return r.attempt;
      if (key == "worker") return r.worker_id;
      if (key == "updated") return r.updated_ms;
      if (key == "epoch") return r.EpochsDone();
      if (key == "metric") {
        if (const double* v = r.Figure(metric_id)) return *v;
        if (metric.rfind("last:", 0) == 0) {
          auto pit = r.progress.metrics.find(metric.substr(5));
          if (pit != r.progress.metrics.end()) return pit->second;
        }
        return nullptr;
      }
      return RowValue(r, key);
    };
    const std::vector<std::string> builtin = {"id", "state", "attempt", "worker", "updated", "epoch", "metric",
                                              analysis::kVariantAxis};
    const std::vector<std::string> axes(axis_set.begin(), axis_set.end());
    const std::vector<std::string> summary_paths(std::begin(kSummaryPaths), std::end(kSummaryPaths));
    // Exact names first, then suffixes of the axes, then of the config summary.
    KeyResolver resolve = [&](const std::string& key) -> std::optional<std::string> {
      for (const auto* set : {&builtin, &axes, &summary_paths}) {
        if (std::count(set->begin(), set->end(), key)) return key;
      }
      if (auto a = ResolveColumn(key, axes)) return a;
      return ResolveColumn(key, summary_paths);
    };
    std::string cols_hint;
    for (const auto& c : columns) cols_hint += " " + c;
    QueryError qe;
    auto terms = ParseFilter(Param(request, "filter"), resolve, cols_hint, &qe);
    if (!terms) {
      error = ErrorResponse(400, qe.error, qe.hint);
      return;
    }
    auto sort_key = resolve(sort);
    if (!sort_key) {
      error = ErrorResponse(400, "cannot sort by '" + sort + "'",
                            "sort by id, state, attempt, worker, updated, epoch, metric, variant or an axis");
      return;
    }
    auto matches = [&](const JobIndex::Row& r) {
      if (!states.empty() && !states.count(r.state)) return false;
      for (const auto& t : *terms) {
        if (t.key.empty()) {
          std::string hay = std::to_string(r.id) + " " + JobStateName(r.state) + " " +
                            r.group->summary.value(analysis::kVariantAxis, "");
          for (auto it = r.axes.begin(); it != r.axes.end(); ++it) hay += " " + analysis::AxisValueText(it.value());
          if (!TextHolds(t, hay)) return false;
        } else if (!TermHolds(t, value_of(r, t.key))) {
          return false;
        }
      }
      return true;
    };
    std::vector<std::pair<json, const JobIndex::Row*>> selected;
    for (const JobIndex::Row* r : rows) {
      if (matches(*r)) selected.emplace_back(value_of(*r, *sort_key), r);
    }
    const bool desc = order == "desc";
    std::stable_sort(selected.begin(), selected.end(), [&](const auto& a, const auto& b) {
      return SortBefore(a.first, a.second->id, b.first, b.second->id, desc);
    });
    json jobs = json::array();
    for (int64_t i = offset; i < static_cast<int64_t>(selected.size()) && i < offset + limit; ++i) {
      const JobIndex::Row& r = *selected[i].second;
      json axes_json = json::object();
      for (const auto& c : columns) axes_json[c] = RowValue(r, c);
      jobs.push_back(json{{"id", r.id},
                          {"state", JobStateName(r.state)},
                          {"attempt", r.attempt},
                          {"max_attempts", r.max_attempts},
                          {"worker_id", r.worker_id},
                          {"updated_ms", r.updated_ms},
                          {"variant", r.group->summary.value(analysis::kVariantAxis, "")},
                          {"axes", axes_json},
                          {"epoch", r.EpochsDone()},
                          {"epochs", r.EpochsTotal()},
                          {"step", r.progress.step},
                          {"error", r.error},
                          {"metric", value_of(r, "metric")}});
    }
    out = json{{"sweep_id", sweep_id},
               {"total", selected.size()},
               {"sweep_total", rows.size()},
               {"offset", offset},
               {"limit", limit},
               {"sort", *sort_key},
               {"order", order},
               {"metric", metric},
               {"metric_format", analysis::FigureFormatJson(metric.rfind("last:", 0) == 0 ? metric.substr(5) : metric)},
               {"columns", columns},
               {"jobs", jobs}};
  });
  if (error) return *error;
  return ApiResponse{200, out};
}

ApiResponse JsonApi::GetJob(int64_t id) {
  auto job = coordinator_->GetJob(id);
  if (!job.ok()) return FromStatus(job.status(), "job ids are listed in the sweep's job table");
  json out{{"id", job->id},
           {"sweep_ids", job->sweep_ids},
           {"state", JobStateName(job->state)},
           {"attempt", job->attempt},
           {"max_attempts", job->max_attempts},
           {"priority", job->priority},
           {"worker_id", job->lease_owner},
           {"lease_expiry_ms", job->state == JobState::kRunning ? job->lease_expiry_ms : 0},
           {"created_ms", job->created_ms},
           {"queued_ms", job->queued_ms},
           {"started_ms", job->started_ms},
           {"finished_ms", job->finished_ms},
           {"updated_ms", job->updated_ms},
           {"error", job->error},
           {"retryable", job->retryable},
           {"hash", job->hash},
           {"group_hash", job->group_hash},
           {"progress", ProgressJson(job->progress)}};
  out["axes"] = json::parse(job->axes_json.empty() ? "{}" : job->axes_json, nullptr, false);
  out["config"] = json::parse(job->config_json, nullptr, false);
  out["result"] = job->result_json.empty() ? json(nullptr) : json::parse(job->result_json, nullptr, false);
  if (out["result"].is_discarded()) out["result"] = job->result_json;
  // Series to plot: what the worker reported, without the progress counters
  // (numbers, not curves: the head shows them).
  std::vector<std::string> names;
  json units = json::object();
  for (const auto& [name, v] : job->progress.metrics) {
    if (analysis::IsProgressCounter(name)) continue;
    names.push_back(name);
    units[name] = analysis::UnitName(analysis::SeriesUnit(name));
  }
  out["metric_names"] = names;
  out["metric_units"] = units;  // one chart per unit (the job page)
  out["summary"] = ConfigSummary(out["config"]);
  // The final model (GET /api/v1/jobs/<id>/model downloads it): null when
  // none was stored; a pruned one says so instead of offering a dead link.
  out["model"] = nullptr;
  if (auto model = coordinator_->ModelRowOfJob(id); model.ok() && model->has_value()) {
    const ModelMeta& m = **model;
    out["model"] = json{{"size_bytes", m.size_bytes}, {"sha256", m.sha256}, {"attempt", m.attempt},
                        {"created_ms", m.time_ms}, {"pruned", m.pruned},
                        {"url", "/api/v1/jobs/" + std::to_string(id) + "/model"}};
  }
  index_.Read([&](const JobIndex::View& view) {
    if (const JobIndex::Row* row = view.Find(id)) {
      out["epochs_done"] = row->EpochsDone();
      out["epochs"] = row->EpochsTotal();
      if (row->group->published && row->group->published->number) {
        out["published"] = analysis::PublishedJson(*row->group->published->number,
                                                   row->group->published->recipe_differences);
      }
    }
  });
  return ApiResponse{200, out};
}

nlohmann::json JsonApi::JobEvent(int64_t job_id) {
  auto job = coordinator_->GetJob(job_id);
  if (!job.ok()) return nullptr;
  return json{{"id", job->id},
              {"sweep_ids", job->sweep_ids},
              {"state", JobStateName(job->state)},
              {"attempt", job->attempt},
              {"worker_id", job->lease_owner},
              {"updated_ms", job->updated_ms},
              {"epoch", job->progress.epoch},
              {"step", job->progress.step},
              {"metrics", job->progress.metrics}};
}

ApiResponse JsonApi::Metrics(int64_t id, const ApiRequest& request) {
  auto job = coordinator_->GetJob(id);
  if (!job.ok()) return FromStatus(job.status(), "job ids are listed in the sweep's job table");
  std::vector<std::string> names = SplitList(Param(request, "names"));
  if (names.empty()) {
    for (const auto& [name, v] : job->progress.metrics) names.push_back(name);
  }
  if (names.size() > 64) return ErrorResponse(400, "at most 64 metric names per request", "ask for fewer names");
  int64_t max_points = kDefaultMaxPoints;
  if (!Param(request, "max_points").empty()) {
    auto v = ParseInt(Param(request, "max_points"));
    if (!v || *v < 0 || *v > 10'000'000) {
      return ErrorResponse(400, "max_points must be an integer >= 0", "0 returns every point; 1000 suits a chart");
    }
    max_points = *v;
  }
  std::optional<int> attempt;
  if (!Param(request, "attempt").empty()) {
    auto v = ParseInt(Param(request, "attempt"));
    if (!v || *v < 1) return ErrorResponse(400, "attempt must be a positive integer", "attempts count from 1");
    attempt = static_cast<int>(*v);
  }
  std::optional<double> after_step = ParamDouble(request, "after_step");
  if (!Param(request, "after_step").empty() && !after_step) {
    return ErrorResponse(400, "after_step must be a number", "e.g. after_step=1200");
  }
  json series = json::array();
  const bool cacheable = IsTerminal(job->state) && !after_step;
  for (const auto& name : names) {
    const std::string cache_key = std::to_string(id) + "|" + name + "|" + std::to_string(attempt.value_or(0)) + "|" +
                                  std::to_string(max_points);
    if (cacheable) {
      std::lock_guard<std::mutex> lock(series_mu_);
      auto it = series_cache_.find(cache_key);
      if (it != series_cache_.end() && it->second.first == job->version) {
        series.push_back(it->second.second);
        continue;
      }
    }
    ListMetricsRequest req;
    req.job_id = id;
    req.names = {name};
    req.attempt = attempt.value_or(0);
    req.limit = std::numeric_limits<int>::max();
    auto pts = coordinator_->ListMetrics(req);
    if (!pts.ok()) return FromStatus(pts.status(), "");
    const size_t total = pts->size();
    // A resumed attempt repeats steps after its checkpoint: keep, for each
    // step range, the points of the newest attempt so the curve is a function.
    std::vector<const MetricPoint*> kept;
    kept.reserve(total);
    int64_t cutoff = std::numeric_limits<int64_t>::max();
    for (size_t i = total; i-- > 0;) {
      const MetricPoint& p = (*pts)[i];
      if (i + 1 < total && p.attempt != (*pts)[i + 1].attempt) {
        // Entering an older attempt: its points at or beyond the newer one's first step are superseded.
        int64_t first = (*pts)[i + 1].step;
        cutoff = std::min(cutoff, first);
      }
      if (p.attempt == (*pts)[total - 1].attempt || p.step < cutoff) {
        if (!after_step || static_cast<double>(p.step) > *after_step) kept.push_back(&p);
      }
    }
    std::reverse(kept.begin(), kept.end());
    // Steps are the x axis; points are already ordered by (attempt, step).
    std::vector<size_t> idx;
    bool downsampled = false;
    if (max_points > 0 && kept.size() > static_cast<size_t>(max_points)) {
      std::vector<double> xs(kept.size()), ys(kept.size());
      for (size_t i = 0; i < kept.size(); ++i) {
        xs[i] = static_cast<double>(kept[i]->step);
        ys[i] = kept[i]->value;
      }
      idx = LargestTriangleThreeBuckets(xs, ys, static_cast<size_t>(max_points));
      downsampled = true;
    } else {
      idx.resize(kept.size());
      for (size_t i = 0; i < kept.size(); ++i) idx[i] = i;
    }
    json points = json::array();
    for (size_t i : idx) {
      const MetricPoint* p = kept[i];
      // NaN/inf are not JSON: send null so the chart shows a gap.
      json v = std::isfinite(p->value) ? json(p->value) : json(nullptr);
      points.push_back(json::array({p->step, v, p->epoch, p->time_ms}));
    }
    json one{{"name", name},
             {"total", total},
             {"returned", idx.size()},
             {"downsampled", downsampled},
             {"columns", {"step", "value", "epoch", "time_ms"}},
             {"points", std::move(points)}};
    if (cacheable) {
      std::lock_guard<std::mutex> lock(series_mu_);
      if (series_cache_.size() >= kSeriesCacheEntries) series_cache_.clear();
      series_cache_[cache_key] = {job->version, one};
    }
    series.push_back(std::move(one));
  }
  return ApiResponse{200, json{{"job_id", id}, {"max_points", max_points}, {"series", series}}};
}

ApiResponse JsonApi::Events(int64_t id) {
  auto job = coordinator_->GetJob(id);
  if (!job.ok()) return FromStatus(job.status(), "job ids are listed in the sweep's job table");
  ListEventsRequest req;
  req.job_id = id;
  req.limit = 5000;
  auto events = coordinator_->ListEvents(req);
  if (!events.ok()) return FromStatus(events.status(), "job ids are listed in the sweep's job table");
  json out = json::array();
  for (const auto& e : *events) {
    out.push_back(json{{"id", e.id},
                       {"time_ms", e.time_ms},
                       {"attempt", e.attempt},
                       {"from", e.from_state},
                       {"to", e.to_state},
                       {"reason", e.reason},
                       {"worker_id", e.worker_id}});
  }
  return ApiResponse{200, json{{"job_id", id}, {"events", out}}};
}

ApiResponse JsonApi::MutateJob(int64_t id, const std::string& action, const ApiRequest& request) {
  if (!CanMutate(request.role)) {
    if (request.role.empty()) {
      return ErrorResponse(401, action + " needs an admin or client token",
                           request.token_presented
                               ? "the token sent is not in the coordinator's tokens file"
                               : "sign in on the page, or send Authorization: Bearer <token>");
    }
    return ErrorResponse(403, "role '" + request.role + "' may not " + action + " jobs",
                         "use a token with the admin or client role");
  }
  StatusOr<JobRecord> job = action == "cancel" ? coordinator_->CancelJob(id, "cancelled from the dashboard")
                                               : coordinator_->RetryJob(id);
  if (!job.ok()) {
    return FromStatus(job.status(), action == "cancel" ? "only queued and running jobs can be cancelled"
                                                       : "only failed, cancelled and stopped jobs can be retried");
  }
  return ApiResponse{200, json{{"id", job->id}, {"state", JobStateName(job->state)}, {"attempt", job->attempt}}};
}

ApiResponse JsonApi::Workers() {
  const int64_t now = SystemClock::Get()->NowMs();
  const int64_t ttl = coordinator_->options().lease_ttl_ms;
  json out = json::array();
  for (const auto& w : coordinator_->ListWorkers()) {
    json devices = json::array();
    for (const auto& d : w.devices) {
      devices.push_back(json{{"kind", d.kind}, {"name", d.name}, {"memory_gb", d.memory_gb},
                              {"free_memory_gb", d.free_memory_gb}});
    }
    json jobs = json::array();
    double throughput = 0;
    for (int64_t jid : w.current_jobs) {
      auto job = coordinator_->GetJob(jid);
      if (!job.ok()) continue;
      std::optional<double> ips;
      for (const auto& [name, v] : job->progress.metrics) {
        const std::string n = Lower(name);
        if (n.find("images_per") != std::string::npos || n.find("img_per") != std::string::npos ||
            n.find("throughput") != std::string::npos) {
          ips = v;
        }
      }
      if (ips) throughput += *ips;
      jobs.push_back(json{{"id", jid},
                          {"state", JobStateName(job->state)},
                          {"epoch", job->progress.epoch},
                          {"step", job->progress.step},
                          {"images_per_s", ips ? json(*ips) : json(nullptr)}});
    }
    out.push_back(json{{"id", w.id},
                       {"name", w.name},
                       {"host", w.host},
                       {"devices", devices},
                       {"cores", w.cores},
                       {"slots", w.slots},
                       {"versions", w.versions},
                       {"registered_ms", w.registered_ms},
                       {"last_seen_ms", w.last_seen_ms},
                       {"alive", now - w.last_seen_ms <= ttl},
                       {"jobs", jobs},
                       {"images_per_s", throughput}});
  }
  return ApiResponse{200, json{{"workers", out}, {"now_ms", now}}};
}

}  // namespace lcsweep
