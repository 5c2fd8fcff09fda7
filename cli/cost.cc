#include "cli/cost.h"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "analysis/groups.h"
#include "cli/call.h"
#include "cli/jobs.h"
#include "cli/table.h"
#include "proto/convert.h"

namespace lcsweep::cli {
namespace {

std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string Hours(double seconds) { return Fixed(seconds / 3600, 4); }

std::string Gib(int64_t bytes) {
  return bytes == 0 ? "-" : Fixed(static_cast<double>(bytes) / (1 << 30), 2);
}

std::string ArmLabel(const nlohmann::json& axes) {
  std::string out;
  for (const auto& [k, v] : axes.items()) {
    if (!out.empty()) out += ", ";
    out += k + "=" + analysis::AxisValueText(v);
  }
  return out.empty() ? "(all jobs)" : out;
}

std::string Energy(const analysis::CostTotals& t) {
  if (t.energy_attempts == 0) return "-";  // not measured: never a 0 that claims something
  return Fixed(t.energy_joules / 3.6e6, 4) +
         (t.energy_attempts < t.attempts - t.unmeasured ? " (partial)" : "");
}

std::string Models(const analysis::CostTotals& t) {
  std::string out;
  for (const std::string& m : t.device_models) out += (out.empty() ? "" : "; ") + m;
  return out.empty() ? "-" : out;
}

void AddRow(Table* table, const std::string& label, int64_t jobs, const analysis::CostTotals& t) {
  table->AddRow({label, std::to_string(jobs), std::to_string(t.attempts),
                 std::to_string(t.abandoned), Hours(t.wall_seconds), Hours(t.cpu_seconds),
                 Hours(t.gpu_seconds), Hours(t.abandoned_cpu_seconds + t.abandoned_gpu_seconds),
                 std::to_string(t.images), Gib(t.peak_host_bytes), Gib(t.peak_device_bytes),
                 Energy(t), Models(t)});
}

}  // namespace

StatusOr<std::vector<v1::AttemptUsage>> FetchUsage(Connection& c, int64_t sweep) {
  std::vector<v1::AttemptUsage> rows;
  for (std::string token;;) {
    v1::ListUsageRequest req;
    req.set_sweep_id(sweep);
    req.set_page_token(token);
    req.set_limit(5000);
    v1::ListUsageResponse page;
    LCSWEEP_RETURN_IF_ERROR(Call(c, &v1::JobService::Stub::ListUsage, req, &page,
                                 "usage of sweep " + std::to_string(sweep)));
    for (auto& a : *page.mutable_attempts()) rows.push_back(std::move(a));
    token = page.next_page_token();
    if (token.empty()) break;
  }
  return rows;
}

analysis::CostReport CostOf(const std::vector<v1::Job>& jobs,
                            const std::vector<v1::AttemptUsage>& rows) {
  std::vector<analysis::CostJob> in_jobs;
  for (const v1::Job& j : jobs) in_jobs.push_back({j.id(), j.group_hash(), j.axes_json()});
  std::vector<analysis::CostAttempt> in_rows;
  for (const v1::AttemptUsage& a : rows)
    in_rows.push_back({a.job_id(), a.outcome(), a.measured(), FromProto(a.usage())});
  return analysis::SummarizeCost(in_jobs, in_rows);
}

StatusOr<std::string> RenderCost(const analysis::CostReport& report, const std::string& format) {
  if (format == "json") return analysis::CostReportJson(report).dump(2) + "\n";
  Table table({"arm", "jobs", "attempts", "abandoned", "wall h", "CPU h", "GPU h", "abandoned h",
               "images", "peak host GiB", "peak device GiB", "energy kWh", "devices"});
  for (size_t c = 1; c <= 11; ++c) table.SetRightAligned(c);
  for (const analysis::ArmCost& arm : report.arms)
    AddRow(&table, ArmLabel(arm.axes), arm.jobs, arm.totals);
  AddRow(&table, "total", report.jobs, report.total);
  std::string out;
  if (format == "table") {
    out = table.RenderText();
  } else if (format == "markdown") {
    out = table.RenderMarkdown();
  } else if (format == "csv") {
    out = table.RenderCsv();
  } else if (format == "latex") {
    out = table.RenderLatex();
  } else {
    return InvalidArgumentError("--format " + format +
                                ": expected table, markdown, csv, json or latex");
  }
  if (format != "csv" && report.total.unmeasured > 0)
    out += "note: " + std::to_string(report.total.unmeasured) +
           " attempt(s) have no measurement (lost before their first heartbeat, or from a worker "
           "without accounting); they count as attempts with no time\n";
  return out;
}

StatusOr<std::string> RenderAttempts(const std::vector<v1::AttemptUsage>& rows,
                                     const std::string& format) {
  if (format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const v1::AttemptUsage& a : rows) {
      const v1::ResourceUsage& u = a.usage();
      out.push_back({{"job_id", a.job_id()}, {"lease", a.lease()}, {"attempt", a.attempt()},
                     {"worker_id", a.worker_id()}, {"outcome", a.outcome()},
                     {"started_at_ms", a.started_at_ms()}, {"ended_at_ms", a.ended_at_ms()},
                     {"measured", a.measured()},
                     {"usage",
                      {{"wall_seconds", u.wall_seconds()}, {"cpu_seconds", u.cpu_seconds()},
                       {"gpu_seconds", u.gpu_seconds()}, {"device_kind", u.device_kind()},
                       {"device_model", u.device_model()}, {"images", u.images()},
                       {"peak_host_bytes", u.peak_host_bytes()},
                       {"peak_device_bytes", u.peak_device_bytes()},
                       {"energy_joules", u.energy_joules()},
                       {"energy_source", u.energy_source()}}}});
    }
    return nlohmann::json{{"attempts", out}}.dump(2) + "\n";
  }
  Table table({"job", "lease", "attempt", "worker", "outcome", "wall s", "CPU s", "GPU s",
               "images", "peak host GiB", "energy J", "device"});
  for (size_t c : {0, 1, 2, 3, 5, 6, 7, 8, 9, 10}) table.SetRightAligned(c);
  for (const v1::AttemptUsage& a : rows) {
    const v1::ResourceUsage& u = a.usage();
    const bool m = a.measured();
    table.AddRow({std::to_string(a.job_id()), std::to_string(a.lease()),
                  std::to_string(a.attempt()), std::to_string(a.worker_id()), a.outcome(),
                  m ? Fixed(u.wall_seconds(), 1) : "-", m ? Fixed(u.cpu_seconds(), 1) : "-",
                  m ? Fixed(u.gpu_seconds(), 1) : "-", m ? std::to_string(u.images()) : "-",
                  m ? Gib(u.peak_host_bytes()) : "-",
                  u.energy_source().empty() ? "-" : Fixed(u.energy_joules(), 1),
                  u.device_model().empty() ? "-" : u.device_model()});
  }
  if (format == "table") return table.RenderText();
  if (format == "markdown") return table.RenderMarkdown();
  if (format == "csv") return table.RenderCsv();
  if (format == "latex") return table.RenderLatex();
  return InvalidArgumentError("--format " + format +
                              ": expected table, markdown, csv, json or latex");
}

int RunCost(const ConnectionFlags& flags, const CostArgs& args, Io io) {
  return RunCommand(flags, io, [&](Connection& c) -> Status {
    LCSWEEP_ASSIGN_OR_RETURN(std::vector<v1::Job> jobs, FetchJobs(c, args.sweep, {}));
    LCSWEEP_ASSIGN_OR_RETURN(std::vector<v1::AttemptUsage> rows, FetchUsage(c, args.sweep));
    LCSWEEP_ASSIGN_OR_RETURN(std::string text, args.attempts
                                                   ? RenderAttempts(rows, args.format)
                                                   : RenderCost(CostOf(jobs, rows), args.format));
    io.out << text;
    return OkStatus();
  });
}

}  // namespace lcsweep::cli
