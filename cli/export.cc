#include "cli/export.h"

#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "analysis/flatten.h"
#include "analysis/groups.h"
#include "cli/call.h"
#include "cli/format.h"
#include "cli/jobs.h"
#include "cli/table.h"
#include "proto/convert.h"

namespace lcsweep::cli {

StatusOr<std::vector<v1::MetricSeries>> FetchMetrics(Connection& c, int64_t job_id) {
  std::map<std::string, v1::MetricSeries> by_name;
  for (std::string token;;) {
    v1::GetMetricsRequest req;
    req.set_job_id(job_id);
    req.set_page_size(10000);
    req.set_page_token(token);
    v1::GetMetricsResponse page;
    LCSWEEP_RETURN_IF_ERROR(
        Call(c, &v1::JobService::Stub::GetMetrics, req, &page, "metrics of job " + std::to_string(job_id)));
    for (auto& s : *page.mutable_series()) {
      v1::MetricSeries& into = by_name[s.name()];
      if (into.name().empty()) {
        into.set_name(s.name());
        into.set_job_id(s.job_id());
      }
      for (auto& p : *s.mutable_points()) *into.add_points() = std::move(p);
    }
    token = page.next_page_token();
    if (token.empty()) break;
  }
  std::vector<v1::MetricSeries> out;
  for (auto& [name, s] : by_name) out.push_back(std::move(s));
  return out;
}

StatusOr<ExportData> FetchExport(Connection& c, int64_t sweep, bool with_metrics) {
  ExportData data;
  LCSWEEP_ASSIGN_OR_RETURN(data.jobs, FetchJobs(c, sweep, {}));
  if (with_metrics) {
    for (const auto& j : data.jobs) {
      LCSWEEP_ASSIGN_OR_RETURN(auto series, FetchMetrics(c, j.id()));
      data.series.push_back(std::move(series));
    }
  }
  return data;
}

namespace {

// The per-job columns shared by both formats.
struct JobColumns {
  std::vector<nlohmann::json> axes;                   // without "seed" (its own column)
  std::vector<std::map<std::string, double>> figures;  // flattened results of succeeded jobs
  std::set<std::string> axis_names, figure_names;
};

JobColumns ColumnsOf(const std::vector<v1::Job>& jobs) {
  JobColumns c;
  for (const auto& j : jobs) {
    nlohmann::json a = nlohmann::json::parse(j.axes_json(), nullptr, false);
    if (!a.is_object()) a = nlohmann::json::object();
    a.erase("seed");
    for (const auto& [k, v] : a.items()) c.axis_names.insert(k);
    c.axes.push_back(a);
    std::map<std::string, double> f;
    if (j.state() == v1::JOB_STATE_SUCCEEDED) {
      nlohmann::json r = nlohmann::json::parse(j.result_json(), nullptr, false);
      if (r.is_object()) f = analysis::FlattenResult(r);
    }
    for (const auto& [k, v] : f) c.figure_names.insert(k);
    c.figures.push_back(std::move(f));
  }
  return c;
}

const std::vector<v1::MetricSeries>& SeriesOf(const ExportData& data, size_t i) {
  static const std::vector<v1::MetricSeries> kNone;
  return i < data.series.size() ? data.series[i] : kNone;
}

std::string RenderJson(const ExportData& data, const JobColumns& cols, bool metrics) {
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < data.jobs.size(); ++i) {
    const v1::Job& j = data.jobs[i];
    nlohmann::json rec = {{"job_id", j.id()},
                          {"state", JobStateName(j.state())},
                          {"seed", j.summary().seed()},
                          {"config_hash", j.config_hash()},
                          {"group_hash", j.group_hash()},
                          {"axes", cols.axes[i]},
                          {"config", nlohmann::json::parse(j.config_json(), nullptr, false)},
                          {"figures", cols.figures[i]}};
    if (!j.error().empty()) rec["error"] = j.error();
    if (metrics) {
      nlohmann::json m = nlohmann::json::object();
      for (const auto& s : SeriesOf(data, i)) {
        nlohmann::json pts = nlohmann::json::array();
        for (const auto& p : s.points()) {
          pts.push_back({{"attempt", p.attempt()}, {"epoch", p.epoch()}, {"step", p.step()},
                         {"time_ms", p.time_ms()}, {"value", p.value()}});
        }
        m[s.name()] = pts;
      }
      rec["metrics"] = m;
    }
    out.push_back(rec);
  }
  return out.dump(2) + "\n";
}

std::string RenderCsv(const ExportData& data, const JobColumns& cols, bool metrics) {
  std::vector<std::string> header = {"job_id", "state", "seed", "config_hash"};
  for (const auto& a : cols.axis_names) header.push_back(a);
  if (metrics) {
    for (const char* h : {"metric", "attempt", "epoch", "step", "time_ms", "value"}) header.push_back(h);
  } else {
    for (const auto& f : cols.figure_names) header.push_back(f);
  }
  Table t(header);
  for (size_t i = 0; i < data.jobs.size(); ++i) {
    const v1::Job& j = data.jobs[i];
    std::vector<std::string> base = {std::to_string(j.id()), JobStateName(j.state()),
                                     std::to_string(j.summary().seed()), j.config_hash()};
    for (const auto& a : cols.axis_names) {
      base.push_back(cols.axes[i].contains(a) ? analysis::AxisValueText(cols.axes[i][a]) : "");
    }
    if (metrics) {
      for (const auto& s : SeriesOf(data, i)) {
        for (const auto& p : s.points()) {
          std::vector<std::string> row = base;
          row.insert(row.end(), {s.name(), std::to_string(p.attempt()), std::to_string(p.epoch()),
                                 std::to_string(p.step()), std::to_string(p.time_ms()), ExactNum(p.value())});
          t.AddRow(row);
        }
      }
      continue;
    }
    for (const auto& f : cols.figure_names) {
      auto it = cols.figures[i].find(f);
      base.push_back(it == cols.figures[i].end() ? "" : ExactNum(it->second));
    }
    t.AddRow(base);
  }
  return t.RenderCsv();
}

}  // namespace

std::string RenderExport(const ExportData& data, const std::string& format, bool metrics) {
  JobColumns cols = ColumnsOf(data.jobs);
  return format == "json" ? RenderJson(data, cols, metrics) : RenderCsv(data, cols, metrics);
}

int RunExport(const ConnectionFlags& flags, const ExportArgs& args, Io io) {
  if (args.format != "csv" && args.format != "json") {
    return ReportError(InvalidArgumentError("--format " + args.format + ": expected csv or json"), io);
  }
  return RunCommand(flags, io, [&](Connection& c) -> Status {
    LCSWEEP_ASSIGN_OR_RETURN(ExportData data, FetchExport(c, args.sweep, args.metrics));
    io.out << RenderExport(data, args.format, args.metrics);
    return OkStatus();
  });
}

}  // namespace lcsweep::cli
