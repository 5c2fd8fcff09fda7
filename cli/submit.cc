#include "cli/submit.h"

#include <algorithm>
#include <cstdio>

#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "analysis/groups.h"
#include "cli/call.h"
#include "cli/format.h"
#include "cli/table.h"
#include "common/ids.h"
#include "common/job_config_json.h"
#include "common/job_identity.h"
#include "proto/convert.h"

namespace lcsweep::cli {
namespace {

StatusOr<std::string> ReadInput(const std::string& file) {
  std::stringstream ss;
  if (file == "-") {
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream in(file);
  if (!in) return InvalidArgumentError("cannot read " + file + ": no such file or not readable");
  ss << in.rdbuf();
  return ss.str();
}

std::string OutcomeText(v1::SubmitOutcome o) {
  switch (o) {
    case v1::SUBMIT_OUTCOME_CREATED: return "new";
    case v1::SUBMIT_OUTCOME_REUSED: return "reuse (queued/running)";
    case v1::SUBMIT_OUTCOME_REUSED_RESULT: return "reuse result";
    case v1::SUBMIT_OUTCOME_REQUEUED: return "re-queue";
    case v1::SUBMIT_OUTCOME_FORCED: return "forced re-run";
    default: return "?";
  }
}

bool Transient(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED;
}

bool Transient(const Status& st) {
  return st.code() == StatusCode::kUnavailable || st.code() == StatusCode::kDeadlineExceeded;
}

std::string Indented(const std::string& text) {
  std::string out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out += "\n  " + line;
  return out;
}

}  // namespace

grpc::Status SubmitWithRetry(const v1::SubmitSweepRequest& request, v1::SubmitSweepResponse* response,
                             const SubmitSender& send) {
  grpc::Status st;
  for (int attempt = 1; attempt <= kSubmitAttempts; ++attempt) {
    response->Clear();
    st = send(request, response);
    if (!Transient(st.error_code())) break;
  }
  return st;
}

StatusOr<v1::SubmitSweepResponse> FetchSubmit(Connection& c, const std::string& spec_text,
                                              const SubmitArgs& args) {
  v1::SubmitSweepRequest req;
  req.set_spec_json(spec_text);
  req.set_force(args.force);
  req.set_dry_run(args.dry_run);
  if (args.priority) req.set_priority(*args.priority);
  req.set_request_id(NewId("submit"));  // one key per invocation, kept across retries
  v1::SubmitSweepResponse resp;
  grpc::Status st = SubmitWithRetry(req, &resp, [&c](const v1::SubmitSweepRequest& r, v1::SubmitSweepResponse* out) {
    auto ctx = c.Context();
    return c.jobs().SubmitSweep(ctx.get(), r, out);
  });
  if (st.ok()) return resp;
  if (st.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    v1::ErrorDetails details = ParseErrorDetails(st);
    std::string lines = details.field_errors_size() ? FormatFieldErrors(details) : st.error_message();
    return InvalidArgumentError("the coordinator rejected " + args.file + ":" + Indented(lines));
  }
  return c.Explain(st, "submitting " + args.file);
}

Status SpecErrorsStatus(const std::string& file, const std::vector<FieldError>& errors) {
  std::string text = file + " is not a valid sweep (" + std::to_string(errors.size()) +
                     (errors.size() == 1 ? " problem" : " problems") + "):";
  for (const auto& e : errors) text += "\n  " + e.ToString();
  return InvalidArgumentError(text);
}

std::string RenderSubmitted(const Sweep& sweep, const v1::SubmitSweepResponse& resp, bool force) {
  std::ostringstream out;
  out << "submitted sweep " << resp.sweep_id() << " (" << sweep.name << "): " << resp.created() + resp.reused()
      << " jobs, " << resp.created() << " created, " << resp.reused() << " reused"
      << (resp.replayed() ? " (an earlier try had submitted it)" : "") << "\n";
  std::map<v1::SubmitOutcome, int> by;
  for (const auto& j : resp.jobs()) by[j.outcome()]++;
  if (by[v1::SUBMIT_OUTCOME_REUSED_RESULT] || by[v1::SUBMIT_OUTCOME_REQUEUED] || by[v1::SUBMIT_OUTCOME_REUSED]) {
    out << "  reused: " << by[v1::SUBMIT_OUTCOME_REUSED] << " already queued/running, "
        << by[v1::SUBMIT_OUTCOME_REUSED_RESULT] << " already succeeded (result kept), "
        << by[v1::SUBMIT_OUTCOME_REQUEUED] << " failed/cancelled re-queued"
        << (force ? "" : " (--force re-runs finished jobs)") << "\n";
  }
  out << "watch it: lcsweep watch " << resp.sweep_id() << "\n";
  return out.str();
}

std::string RenderDryRun(const Sweep& sweep, const v1::SubmitSweepResponse* server,
                         const MemoryEstimator& memory) {
  // The coordinator lists at most its first jobs (jobs_omitted counts the
  // rest); match by hash so that every local job finds its outcome.
  std::map<std::string, const v1::SubmittedJob*> on_server;
  if (server) {
    for (const auto& sj : server->jobs()) on_server[sj.config_hash()] = &sj;
  }
  std::vector<std::string> header = {"#"};
  for (const auto& a : sweep.axis_paths) header.push_back(a.substr(a.rfind('.') == std::string::npos ? 0 : a.rfind('.') + 1));
  header.push_back("seed");
  header.push_back("hash");
  if (memory) header.push_back("memory GB");
  if (server) header.push_back("on server");
  Table t(header);
  t.SetRightAligned(0);
  std::map<std::string, std::map<nlohmann::json, int>> per_axis;  // values in JSON order (1 < 8 < 64)
  std::map<std::string, int> outcomes;
  int i = 0;
  for (const ExpandedJob& job : sweep.jobs) {
    std::vector<std::string> row = {std::to_string(++i)};
    for (const auto& a : sweep.axis_paths) {
      nlohmann::json v = job.axes.count(a) ? job.axes.at(a) : nlohmann::json("?");
      row.push_back(analysis::AxisValueText(v));
      per_axis[a][v]++;
    }
    row.push_back(std::to_string(job.config.seed));
    per_axis["seed"][job.config.seed]++;
    row.push_back(job.hash.substr(0, 12));
    if (memory) {
      StatusOr<double> gb = memory(job.config);
      char text[32];
      std::snprintf(text, sizeof(text), "%.2f", gb.ok() ? *gb : 0.0);
      row.push_back(gb.ok() ? text : "?");
    }
    if (server) {
      auto it = on_server.find(job.hash);
      std::string on = "?";
      if (it != on_server.end()) {
        on = OutcomeText(it->second->outcome());
        outcomes[on]++;
        if (it->second->outcome() != v1::SUBMIT_OUTCOME_CREATED) on += " [" + JobStateName(it->second->state()) + "]";
      }
      row.push_back(on);
    }
    t.AddRow(row);
  }
  std::ostringstream out;
  out << "dry run of sweep " << sweep.name << " (" << sweep.expansion << "): " << sweep.jobs.size()
      << " jobs; nothing was submitted\n\n"
      << t.RenderText() << "\njobs per axis value:\n";
  for (const auto& [axis, counts] : per_axis) {
    out << "  " << axis << ":";
    for (const auto& [v, n] : counts) out << " " << analysis::AxisValueText(v) << " (" << n << ")";
    out << "\n";
  }
  if (server) {
    out << "\non the coordinator: " << outcomes["new"] << " new, " << outcomes["reuse (queued/running)"]
        << " already queued/running, " << outcomes["reuse result"] << " already done, " << outcomes["re-queue"]
        << " failed/cancelled (would be re-queued)";
    if (outcomes["forced re-run"]) out << ", " << outcomes["forced re-run"] << " forced re-runs";
    out << "\n";
    if (server->jobs_omitted() > 0) {
      out << server->jobs_omitted() << " jobs beyond the first " << server->jobs_size()
          << " were not classified by the coordinator (\"?\")\n";
    }
  } else {
    out << "\nnot compared with the coordinator's jobs (offline)\n";
  }
  if (sweep.duplicates) out << sweep.duplicates << " duplicate configs collapsed\n";
  out << IgnoredForIdentityText(sweep);
  return out.str();
}

std::string IgnoredForIdentityText(const Sweep& sweep) {
  if (sweep.jobs.empty()) return "";
  // The run settings of the sweep's jobs, and those its jobs set to other
  // values than the defaults (the ones that a reader might think matter).
  const nlohmann::json defaults = JobConfigToJson(JobConfig{});
  std::set<std::string> ignored, set;
  for (const ExpandedJob& job : sweep.jobs) {
    for (const std::string& path : IgnoredForIdentity(job.config)) {
      ignored.insert(path);
      const std::string p = path.size() > 2 && path.compare(path.size() - 2, 2, ".*") == 0
                                ? path.substr(0, path.size() - 2) : path;
      std::string pointer = "/" + p;
      std::replace(pointer.begin(), pointer.end(), '.', '/');
      const nlohmann::json::json_pointer ptr(pointer);
      if (job.config_json.contains(ptr) && defaults.contains(ptr) && job.config_json.at(ptr) != defaults.at(ptr)) {
        set.insert(path);
      }
    }
  }
  std::string out = "ignored for identity (run settings: stored and used, not part of the job hash; "
                    "docs/results.md \"Job identity\"):";
  for (const auto& p : ignored) out += " " + p;
  out += "\n";
  if (!set.empty()) {
    out += "  set by this sweep to non-default values:";
    for (const auto& p : set) out += " " + p;
    out += "\n";
  }
  return out;
}

v1::SubmitSweepResponse OfflinePlan(const Sweep& sweep) {
  v1::SubmitSweepResponse plan;
  plan.set_dry_run(true);
  for (const ExpandedJob& job : sweep.jobs) {
    v1::SubmittedJob* sj = plan.add_jobs();
    sj->set_config_hash(job.hash);
    sj->set_config_json(job.canonical_json);
    *sj->mutable_summary() = SummaryFromConfig(job.config);
  }
  return plan;
}

int RunSubmit(const ConnectionFlags& flags, const SubmitArgs& args, Io io) {
  StatusOr<std::string> text = ReadInput(args.file);
  if (!text.ok()) return ReportError(text.status(), io);
  // Validated locally first: every problem at once, with its field path.
  SweepParseResult parsed = ParseSweepTextWithErrors(*text);
  if (!parsed.sweep) return ReportError(SpecErrorsStatus(args.file, parsed.errors), io);
  const Sweep& sweep = *parsed.sweep;
  auto offline = [&](const Status& why) {
    if (!why.ok()) io.err << "note: " << why.message() << "; showing the offline expansion\n";
    io.out << (args.json ? ToJson(OfflinePlan(sweep)) + "\n" : RenderDryRun(sweep, nullptr, args.memory_estimate_gb));
    return kExitOk;
  };
  if (args.dry_run && args.offline) return offline(OkStatus());

  auto conn = Connect(flags);
  if (!conn.ok()) return args.dry_run && Transient(conn.status()) ? offline(conn.status()) : ReportError(conn.status(), io);
  StatusOr<v1::SubmitSweepResponse> resp = FetchSubmit(**conn, *text, args);
  if (!resp.ok()) return args.dry_run && Transient(resp.status()) ? offline(resp.status()) : ReportError(resp.status(), io);
  if (args.json) {
    io.out << ToJson(*resp) << "\n";
  } else {
    io.out << (args.dry_run ? RenderDryRun(sweep, &*resp, args.memory_estimate_gb) : RenderSubmitted(sweep, *resp, args.force));
  }
  return kExitOk;
}

}  // namespace lcsweep::cli
