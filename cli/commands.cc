#include "cli/commands.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include <google/protobuf/util/json_util.h>
#include <grpcpp/generic/generic_stub.h>
#include <nlohmann/json.hpp>

#include "cli/table.h"
#include "common/ids.h"
#include "common/sweep_spec.h"
#include "proto/convert.h"
#include "analysis/flatten.h"

namespace lcsweep::cli {

// ---------------------------------------------------------------------------
// Shared helpers

int ReportError(const Status& status, Io io) {
  io.err << "error: " << status.message() << "\n";
  return ExitCodeFor(status);
}

StatusOr<std::unique_ptr<Connection>> Connect(const ConnectionFlags& flags) {
  LCSWEEP_ASSIGN_OR_RETURN(ConnectionSettings settings, ResolveSettings(flags));
  auto conn = std::make_unique<Connection>(std::move(settings));
  LCSWEEP_RETURN_IF_ERROR(conn->WaitConnected());
  return conn;
}

std::string ProgressBar(double fraction, int width) {
  fraction = std::clamp(std::isfinite(fraction) ? fraction : 0.0, 0.0, 1.0);
  int filled = static_cast<int>(std::round(fraction * width));
  char pct[16];
  std::snprintf(pct, sizeof(pct), "%3d%%", static_cast<int>(std::floor(fraction * 100 + 1e-9)));
  return "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] " + pct;
}

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  int64_t s = static_cast<int64_t>(std::llround(seconds));
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof(buf), "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
  else if (s >= 60) std::snprintf(buf, sizeof(buf), "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
  else std::snprintf(buf, sizeof(buf), "%llds", (long long)s);
  return buf;
}

std::string AxesText(const std::string& axes_json) {
  nlohmann::json axes = nlohmann::json::parse(axes_json, nullptr, false);
  if (!axes.is_object()) return "";
  std::string out;
  for (const auto& [k, v] : axes.items()) {
    std::string name = k.substr(k.rfind('.') == std::string::npos ? 0 : k.rfind('.') + 1);
    if (!out.empty()) out += " ";
    out += name + "=" + AxisValueText(v);
  }
  return out;
}

namespace {

std::string TimeText(int64_t ms) {
  if (ms <= 0) return "-";
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string AgoText(int64_t ms) {
  if (ms <= 0) return "-";
  return FormatDuration((NowMs() - ms) / 1000.0) + " ago";
}

std::string ToJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = true;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

std::string Pct(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f%%", fraction * 100);
  return buf;
}

std::string Num(double v, int decimals = 4) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

StatusOr<std::vector<v1::Job>> ListAllJobs(Connection& c, int64_t sweep,
                                           const std::vector<v1::JobState>& states,
                                           int64_t worker = 0) {
  std::vector<v1::Job> all;
  std::string token;
  do {
    v1::ListJobsRequest req;
    req.set_sweep_id(sweep);
    for (auto s : states) req.add_states(s);
    req.set_worker_id(worker);
    req.set_page_size(1000);
    req.set_page_token(token);
    v1::ListJobsResponse resp;
    auto ctx = c.Context();
    grpc::Status st = c.jobs().ListJobs(ctx.get(), req, &resp);
    if (!st.ok()) return c.Explain(st, sweep ? "listing the jobs of sweep " + std::to_string(sweep) : "listing jobs");
    for (auto& j : *resp.mutable_jobs()) all.push_back(std::move(j));
    token = resp.next_page_token();
  } while (!token.empty());
  return all;
}

std::string ProgressText(const v1::Job& j) {
  if (j.state() != v1::JOB_STATE_RUNNING && j.state() != v1::JOB_STATE_QUEUED) return "";
  const auto& m = j.progress().metrics();
  std::string out;
  if (j.progress().updated_at_ms() > 0) {
    out = "epoch " + std::to_string(j.progress().epoch());
    if (m.count("epochs")) out += "/" + std::to_string(static_cast<int64_t>(m.at("epochs")));
    out += " step " + std::to_string(j.progress().step());
    if (m.count("total_steps")) out += "/" + std::to_string(static_cast<int64_t>(m.at("total_steps")));
  }
  return out;
}

std::string FinalAccuracy(const v1::Job& j) {
  if (j.state() == v1::JOB_STATE_SUCCEEDED) {
    nlohmann::json r = nlohmann::json::parse(j.result_json(), nullptr, false);
    if (r.is_object() && r.contains("final") && r["final"].is_object() &&
        r["final"].contains("test_accuracy") && r["final"]["test_accuracy"].is_number()) {
      return Pct(r["final"]["test_accuracy"].get<double>());
    }
    return "";
  }
  auto it = j.progress().metrics().find("test.accuracy");
  return it == j.progress().metrics().end() ? "" : Pct(it->second);
}

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

}  // namespace

// ---------------------------------------------------------------------------
// submit

int RunSubmit(const ConnectionFlags& flags, const SubmitArgs& args, Io io) {
  StatusOr<std::string> text = ReadInput(args.file);
  if (!text.ok()) return ReportError(text.status(), io);
  // Validate locally first: every problem at once, with its field path.
  SweepParseResult parsed = ParseSweepTextWithErrors(*text);
  if (!parsed.sweep) {
    io.err << "error: " << args.file << " is not a valid sweep (" << parsed.errors.size()
           << (parsed.errors.size() == 1 ? " problem" : " problems") << "):\n";
    for (const auto& e : parsed.errors) io.err << "  " << e.ToString() << "\n";
    return kExitUsage;
  }
  const Sweep& sweep = *parsed.sweep;

  auto conn = Connect(flags);
  if (!conn.ok()) return ReportError(conn.status(), io);
  Connection& c = **conn;
  v1::SubmitSweepRequest req;
  req.set_spec_json(*text);
  req.set_force(args.force);
  req.set_dry_run(args.dry_run);
  if (args.priority) req.set_priority(*args.priority);
  // One key per invocation: a retry after a lost reply (deadline, restart)
  // returns the sweep the first try created instead of a second one.
  req.set_request_id(NewId("submit"));
  v1::SubmitSweepResponse resp;
  grpc::Status st;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    auto ctx = c.Context();
    st = c.jobs().SubmitSweep(ctx.get(), req, &resp);
    if (st.error_code() != grpc::StatusCode::UNAVAILABLE &&
        st.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED)
      break;
  }
  if (!st.ok()) {
    if (st.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
      v1::ErrorDetails details = ParseErrorDetails(st);
      io.err << "error: the coordinator rejected " << args.file << ":\n";
      std::string lines = details.field_errors_size() ? FormatFieldErrors(details) : st.error_message();
      std::istringstream in(lines);
      for (std::string line; std::getline(in, line);) io.err << "  " << line << "\n";
      return kExitUsage;
    }
    return ReportError(c.Explain(st, "submitting " + args.file), io);
  }
  if (args.json) {
    io.out << ToJson(resp) << "\n";
    return kExitOk;
  }

  if (!args.dry_run) {
    io.out << "submitted sweep " << resp.sweep_id() << " (" << sweep.name << "): "
           << resp.created() + resp.reused() << " jobs, " << resp.created() << " created, "
           << resp.reused() << " reused" << (resp.replayed() ? " (an earlier try had submitted it)" : "")
           << "\n";
    std::map<v1::SubmitOutcome, int> by;
    for (const auto& j : resp.jobs()) by[j.outcome()]++;
    if (by[v1::SUBMIT_OUTCOME_REUSED_RESULT] || by[v1::SUBMIT_OUTCOME_REQUEUED] || by[v1::SUBMIT_OUTCOME_REUSED]) {
      io.out << "  reused: " << by[v1::SUBMIT_OUTCOME_REUSED] << " already queued/running, "
             << by[v1::SUBMIT_OUTCOME_REUSED_RESULT] << " already succeeded (result kept), "
             << by[v1::SUBMIT_OUTCOME_REQUEUED] << " failed/cancelled re-queued"
             << (args.force ? "" : " (--force re-runs finished jobs)") << "\n";
    }
    io.out << "watch it: lcsweep watch " << resp.sweep_id() << "\n";
    return kExitOk;
  }

  // Dry run: the expanded jobs, counts per axis, what the server already has.
  std::map<std::string, const ExpandedJob*> by_hash;
  for (const auto& j : sweep.jobs) by_hash[j.hash] = &j;
  std::vector<std::string> axes = sweep.axis_paths;
  std::vector<std::string> header = {"#"};
  for (const auto& a : axes) header.push_back(a.substr(a.rfind('.') == std::string::npos ? 0 : a.rfind('.') + 1));
  for (const char* h : {"seed", "hash", "on server"}) header.push_back(h);
  Table t(header);
  t.SetRightAligned(0);
  std::map<std::string, std::map<nlohmann::json, int>> per_axis;  // values in JSON order (1 < 8 < 64)
  std::map<std::string, int> outcomes;
  int i = 0;
  for (const auto& sj : resp.jobs()) {
    std::vector<std::string> row = {std::to_string(++i)};
    auto it = by_hash.find(sj.config_hash());
    for (const auto& a : axes) {
      nlohmann::json v = "?";
      if (it != by_hash.end() && it->second->axes.count(a)) v = it->second->axes.at(a);
      row.push_back(AxisValueText(v));
      per_axis[a][v]++;
    }
    row.push_back(std::to_string(sj.summary().seed()));
    per_axis["seed"][sj.summary().seed()]++;
    row.push_back(sj.config_hash().substr(0, 12));
    std::string on = OutcomeText(sj.outcome());
    if (sj.outcome() != v1::SUBMIT_OUTCOME_CREATED) on += " [" + JobStateName(sj.state()) + "]";
    row.push_back(on);
    outcomes[OutcomeText(sj.outcome())]++;
    t.AddRow(row);
  }
  io.out << "dry run of sweep " << sweep.name << " (" << sweep.expansion << "): " << resp.jobs_size()
         << " jobs; nothing was submitted\n\n"
         << t.RenderText() << "\njobs per axis value:\n";
  for (const auto& [axis, counts] : per_axis) {
    io.out << "  " << axis << ":";
    for (const auto& [v, n] : counts) io.out << " " << AxisValueText(v) << " (" << n << ")";
    io.out << "\n";
  }
  io.out << "\non the coordinator: " << outcomes["new"] << " new, " << outcomes["reuse (queued/running)"]
         << " already queued/running, " << outcomes["reuse result"] << " already done, "
         << outcomes["re-queue"] << " failed/cancelled (would be re-queued)";
  if (outcomes["forced re-run"]) io.out << ", " << outcomes["forced re-run"] << " forced re-runs";
  io.out << "\n";
  if (sweep.duplicates) io.out << sweep.duplicates << " duplicate configs collapsed\n";
  return kExitOk;
}

// ---------------------------------------------------------------------------
// ls

int RunListSweeps(const ConnectionFlags& flags, const std::string& tag, bool json, Io io) {
  auto conn = Connect(flags);
  if (!conn.ok()) return ReportError(conn.status(), io);
  Connection& c = **conn;
  std::vector<v1::Sweep> sweeps;
  std::string token;
  do {
    v1::ListSweepsRequest req;
    req.set_page_size(1000);
    req.set_page_token(token);
    req.set_tag(tag);
    v1::ListSweepsResponse resp;
    auto ctx = c.Context();
    grpc::Status st = c.jobs().ListSweeps(ctx.get(), req, &resp);
    if (!st.ok()) return ReportError(c.Explain(st, "listing sweeps"), io);
    for (auto& s : *resp.mutable_sweeps()) sweeps.push_back(std::move(s));
    token = resp.next_page_token();
  } while (!token.empty());
  if (json) {
    v1::ListSweepsResponse all;
    for (auto& s : sweeps) *all.add_sweeps() = s;
    io.out << ToJson(all) << "\n";
    return kExitOk;
  }
  Table t({"ID", "NAME", "JOBS", "DONE", "RUNNING", "QUEUED", "FAILED", "CANCELLED", "PROGRESS", "CREATED"});
  for (int i : {0, 2, 3, 4, 5, 6, 7}) t.SetRightAligned(i);
  for (const auto& s : sweeps) {
    const auto& n = s.counts();
    double finished = n.succeeded() + n.failed() + n.cancelled();
    t.AddRow({std::to_string(s.id()), s.name() + (s.cancelled_at_ms() ? " (cancelled)" : ""),
              std::to_string(n.total()), std::to_string(n.succeeded()), std::to_string(n.running()),
              std::to_string(n.queued()), std::to_string(n.failed()), std::to_string(n.cancelled()),
              ProgressBar(n.total() ? finished / n.total() : 0, 20), AgoText(s.created_at_ms())});
  }
  if (sweeps.empty()) {
    io.out << "no sweeps yet; submit one with: lcsweep submit SWEEP.json\n";
    return kExitOk;
  }
  io.out << t.RenderText();
  return kExitOk;
}

// ---------------------------------------------------------------------------
// jobs

int RunJobs(const ConnectionFlags& flags, const JobsArgs& args, Io io) {
  std::vector<v1::JobState> states;
  for (const auto& s : args.states) {
    std::stringstream in(s);
    for (std::string name; std::getline(in, name, ',');) {
      if (name.empty()) continue;
      auto st = JobStateFromName(name);
      if (!st) {
        io.err << "error: --state " << name << ": expected queued, running, succeeded, failed or cancelled\n";
        return kExitUsage;
      }
      states.push_back(*st);
    }
  }
  auto conn = Connect(flags);
  if (!conn.ok()) return ReportError(conn.status(), io);
  auto jobs = ListAllJobs(**conn, args.sweep, states, args.worker);
  if (!jobs.ok()) return ReportError(jobs.status(), io);
  if (args.json) {
    v1::ListJobsResponse all;
    for (auto& j : *jobs) *all.add_jobs() = j;
    all.set_total(jobs->size());
    io.out << ToJson(all) << "\n";
    return kExitOk;
  }
  Table t({"ID", "STATE", "SWEEPS", "CONFIG", "ATTEMPT", "WORKER", "PROGRESS", "TEST ACC", "UPDATED"});
  for (int i : {0, 4, 5, 7}) t.SetRightAligned(i);
  for (const auto& j : *jobs) {
    std::string sweeps;
    for (int64_t s : j.sweep_ids()) sweeps += (sweeps.empty() ? "" : ",") + std::to_string(s);
    std::string config = AxesText(j.axes_json());
    if (config.empty()) {
      config = j.summary().dataset() + " " + j.summary().conv_mode() + " E=" + std::to_string(j.summary().lc_rate()) +
               " seed=" + std::to_string(j.summary().seed());
    }
    t.AddRow({std::to_string(j.id()), JobStateName(j.state()), sweeps, config,
              std::to_string(j.attempt()) + "/" + std::to_string(j.max_attempts()),
              j.worker_id() ? std::to_string(j.worker_id()) : "-", ProgressText(j), FinalAccuracy(j),
              AgoText(j.updated_at_ms())});
  }
  io.out << t.RenderText() << jobs->size() << (jobs->size() == 1 ? " job\n" : " jobs\n");
  return kExitOk;
}

// ---------------------------------------------------------------------------
// show

int RunShow(const ConnectionFlags& flags, int64_t job_id, bool json, Io io) {
  auto conn = Connect(flags);
  if (!conn.ok()) return ReportError(conn.status(), io);
  Connection& c = **conn;
  v1::GetJobRequest req;
  req.set_job_id(job_id);
  v1::GetJobResponse resp;
  auto ctx = c.Context();
  grpc::Status st = c.jobs().GetJob(ctx.get(), req, &resp);
  if (!st.ok()) return ReportError(c.Explain(st, "job " + std::to_string(job_id)), io);
  if (json) {
    io.out << ToJson(resp) << "\n";
    return kExitOk;
  }
  const v1::Job& j = resp.job();
  std::string sweeps;
  for (int64_t s : j.sweep_ids()) sweeps += (sweeps.empty() ? "" : ", ") + std::to_string(s);
  io.out << "job " << j.id() << "  " << JobStateName(j.state()) << "\n"
         << "  sweeps:       " << sweeps << "\n"
         << "  axes:         " << AxesText(j.axes_json()) << "\n"
         << "  config hash:  " << j.config_hash() << "\n"
         << "  attempt:      " << j.attempt() << " (failures " << j.failures() << ", last attempt "
         << j.max_attempts() << "; worker losses " << j.losses() << " of " << j.max_losses() << ")\n"
         << "  priority:     " << j.priority() << "\n"
         << "  worker:       " << (j.worker_id() ? std::to_string(j.worker_id()) : "-") << "\n"
         << "  created:      " << TimeText(j.created_at_ms()) << "\n"
         << "  started:      " << TimeText(j.started_at_ms()) << "\n"
         << "  finished:     " << TimeText(j.finished_at_ms()) << "\n";
  if (!j.error().empty()) {
    io.out << "  error:        " << j.error() << (j.retryable() ? " (retryable)" : "") << "\n";
  }
  if (j.progress().updated_at_ms() > 0) {
    io.out << "  progress:     " << ProgressText(j) << " (" << AgoText(j.progress().updated_at_ms()) << ")\n";
    for (const auto& [k, v] : std::map<std::string, double>(j.progress().metrics().begin(),
                                                            j.progress().metrics().end())) {
      io.out << "    " << k << " = " << Num(v) << "\n";
    }
  }
  if (resp.has_latest_checkpoint()) {
    const auto& ck = resp.latest_checkpoint();
    io.out << "  checkpoint:   #" << ck.id() << " attempt " << ck.attempt() << ", epoch " << ck.epoch()
           << ", step " << ck.step() << ", " << ck.size_bytes() << " bytes, sha256 "
           << ck.sha256().substr(0, 16) << "..., " << TimeText(ck.created_at_ms()) << "\n";
  } else {
    io.out << "  checkpoint:   none\n";
  }

  // Attempts from the audit trail.
  v1::ListEventsRequest ereq;
  ereq.set_job_id(job_id);
  ereq.set_limit(5000);
  v1::ListEventsResponse eresp;
  auto ectx = c.Context();
  if (c.jobs().ListEvents(ectx.get(), ereq, &eresp).ok() && eresp.events_size()) {
    io.out << "  history:\n";
    for (const auto& e : eresp.events()) {
      io.out << "    " << TimeText(e.time_ms()) << "  attempt " << e.attempt() << "  "
             << (e.from_state() ? JobStateName(e.from_state()) + " -> " : "") << JobStateName(e.to_state())
             << "  " << e.reason() << (e.worker_id() ? "  (worker " + std::to_string(e.worker_id()) + ")" : "")
             << "\n";
    }
  }

  io.out << "  config:\n";
  nlohmann::json cfg = nlohmann::json::parse(j.config_json(), nullptr, false);
  std::istringstream cfg_lines(cfg.is_discarded() ? j.config_json() : cfg.dump(2));
  for (std::string line; std::getline(cfg_lines, line);) io.out << "    " << line << "\n";

  if (j.state() == v1::JOB_STATE_SUCCEEDED) {
    nlohmann::json r = nlohmann::json::parse(j.result_json(), nullptr, false);
    if (r.is_object()) {
      std::map<std::string, double> figures = analysis::FlattenResult(r);
      io.out << "  result figures (" << figures.size() << "):\n";
      Table t({"figure", "value"});
      t.SetRightAligned(1);
      for (const auto& [name, v] : figures) {
        if (name.rfind("job.", 0) == 0 || name.rfind("history[", 0) == 0) continue;  // config / per-epoch echo
        char buf[48];
        std::snprintf(buf, sizeof(buf), "%.6g", v);
        t.AddRow({name, buf});
      }
      std::istringstream lines(t.RenderText());
      for (std::string line; std::getline(lines, line);) io.out << "    " << line << "\n";
    }
  }
  return kExitOk;
}

// ---------------------------------------------------------------------------
// workers, events

int RunWorkers(const ConnectionFlags& flags, bool all, bool json, Io io) {
  auto conn = Connect(flags);
  if (!conn.ok()) return ReportError(conn.status(), io);
  Connection& c = **conn;
  v1::ListWorkersResponse resp;
  // Pages are cut by size (coordinator.proto): follow next_page_token.
  for (std::string token;;) {
    v1::ListWorkersRequest req;
    req.set_include_dead(all);
    req.set_page_token(token);
    v1::ListWorkersResponse page;
    auto ctx = c.Context();
    grpc::Status st = c.jobs().ListWorkers(ctx.get(), req, &page);
    if (!st.ok()) return ReportError(c.Explain(st, "listing workers"), io);
    for (auto& w : *page.mutable_workers()) *resp.add_workers() = std::move(w);
    token = page.next_page_token();
    if (token.empty()) break;
  }
  if (json) {
    io.out << ToJson(resp) << "\n";
    return kExitOk;
  }
  if (resp.workers_size() == 0) {
    io.out << (all ? "no workers have registered\n"
                   : "no live workers (start one: lcsweep-worker --coordinator HOST:PORT; --all shows dead ones)\n");
    return kExitOk;
  }
  Table t({"ID", "NAME", "HOST", "DEVICES", "SLOTS", "JOBS", "ALIVE", "LAST SEEN"});
  for (int i : {0, 4}) t.SetRightAligned(i);
  for (const auto& w : resp.workers()) {
    std::string devices, jobs;
    for (const auto& d : w.devices()) devices += (devices.empty() ? "" : ",") + (d.name().empty() ? d.kind() : d.name());
    for (int64_t j : w.job_ids()) jobs += (jobs.empty() ? "" : ",") + std::to_string(j);
    t.AddRow({std::to_string(w.id()), w.name(), w.hostname(), devices, std::to_string(w.slots()),
              jobs.empty() ? "-" : jobs, w.alive() ? "yes" : "no", AgoText(w.last_seen_at_ms())});
  }
  io.out << t.RenderText();
  return kExitOk;
}

int RunEvents(const ConnectionFlags& flags, int64_t job_id, int64_t sweep_id, bool json, Io io) {
  auto conn = Connect(flags);
  if (!conn.ok()) return ReportError(conn.status(), io);
  Connection& c = **conn;
  std::vector<v1::Event> events;
  int64_t after = 0;
  for (;;) {
    v1::ListEventsRequest req;
    req.set_job_id(job_id);
    req.set_sweep_id(sweep_id);
    req.set_after_id(after);
    req.set_limit(5000);
    v1::ListEventsResponse resp;
    auto ctx = c.Context();
    grpc::Status st = c.jobs().ListEvents(ctx.get(), req, &resp);
    if (!st.ok()) {
      return ReportError(c.Explain(st, job_id ? "events of job " + std::to_string(job_id)
                                              : "events of sweep " + std::to_string(sweep_id)), io);
    }
    for (auto& e : *resp.mutable_events()) events.push_back(std::move(e));
    // Fewer than the limit ends the trail unless the page was cut by size.
    if (resp.events_size() == 0 || (resp.events_size() < 5000 && resp.next_page_token().empty())) break;
    after = events.back().id();
  }
  // The server answers an unknown job with no events: say so rather than print nothing.
  if (events.empty() && job_id) {
    v1::GetJobRequest req;
    req.set_job_id(job_id);
    v1::GetJobResponse resp;
    auto ctx = c.Context();
    grpc::Status st = c.jobs().GetJob(ctx.get(), req, &resp);
    if (!st.ok()) return ReportError(c.Explain(st, "job " + std::to_string(job_id)), io);
  }
  if (json) {
    v1::ListEventsResponse all;
    for (auto& e : events) *all.add_events() = e;
    io.out << ToJson(all) << "\n";
    return kExitOk;
  }
  Table t({"ID", "TIME", "JOB", "ATTEMPT", "CHANGE", "REASON", "WORKER"});
  for (int i : {0, 2, 3}) t.SetRightAligned(i);
  for (const auto& e : events) {
    t.AddRow({std::to_string(e.id()), TimeText(e.time_ms()), std::to_string(e.job_id()), std::to_string(e.attempt()),
              (e.from_state() ? JobStateName(e.from_state()) : "(new)") + " -> " + JobStateName(e.to_state()),
              e.reason(), e.worker_id() ? std::to_string(e.worker_id()) : "-"});
  }
  io.out << t.RenderText();
  return kExitOk;
}

// ---------------------------------------------------------------------------
// cancel, retry

int RunCancel(const ConnectionFlags& flags, int64_t job_id, int64_t sweep_id, const std::string& reason, Io io) {
  auto conn = Connect(flags);
  if (!conn.ok()) return ReportError(conn.status(), io);
  Connection& c = **conn;
  if (sweep_id) {
    v1::CancelSweepRequest req;
    req.set_sweep_id(sweep_id);
    req.set_reason(reason);
    v1::CancelSweepResponse resp;
    auto ctx = c.Context();
    grpc::Status st = c.jobs().CancelSweep(ctx.get(), req, &resp);
    if (!st.ok()) return ReportError(c.Explain(st, "cancelling sweep " + std::to_string(sweep_id)), io);
    io.out << "cancelled sweep " << sweep_id << ": " << resp.cancelled() << " queued jobs cancelled, "
           << resp.cancel_requested() << " running jobs told to stop, " << resp.skipped_shared()
           << " left alone (shared with another live sweep), " << resp.already_finished() << " already finished\n";
    return kExitOk;
  }
  v1::CancelJobRequest req;
  req.set_job_id(job_id);
  req.set_reason(reason);
  v1::CancelJobResponse resp;
  auto ctx = c.Context();
  grpc::Status st = c.jobs().CancelJob(ctx.get(), req, &resp);
  if (!st.ok()) return ReportError(c.Explain(st, "cancelling job " + std::to_string(job_id)), io);
  io.out << "job " << job_id << " is " << JobStateName(resp.job().state()) << "\n";
  return kExitOk;
}

int RunRetry(const ConnectionFlags& flags, int64_t job_id, int64_t sweep_id, Io io) {
  auto conn = Connect(flags);
  if (!conn.ok()) return ReportError(conn.status(), io);
  Connection& c = **conn;
  std::vector<int64_t> ids;
  if (sweep_id) {
    auto jobs = ListAllJobs(c, sweep_id, {v1::JOB_STATE_FAILED, v1::JOB_STATE_CANCELLED});
    if (!jobs.ok()) return ReportError(jobs.status(), io);
    for (const auto& j : *jobs) ids.push_back(j.id());
    if (ids.empty()) {
      io.out << "sweep " << sweep_id << " has no failed or cancelled jobs; nothing to retry\n";
      return kExitOk;
    }
  } else {
    ids.push_back(job_id);
  }
  int failures = 0;
  Status last;
  for (int64_t id : ids) {
    v1::RetryJobRequest req;
    req.set_job_id(id);
    v1::RetryJobResponse resp;
    auto ctx = c.Context();
    grpc::Status st = c.jobs().RetryJob(ctx.get(), req, &resp);
    if (!st.ok()) {
      last = c.Explain(st, "retrying job " + std::to_string(id));
      io.err << "error: " << last.message() << "\n";
      ++failures;
      continue;
    }
    io.out << "job " << id << " is " << JobStateName(resp.job().state()) << " (attempt " << resp.job().attempt()
           << " of " << resp.job().max_attempts() << ")\n";
  }
  if (sweep_id) io.out << "re-queued " << ids.size() - failures << " of " << ids.size() << " jobs\n";
  return failures ? ExitCodeFor(last) : kExitOk;
}

// ---------------------------------------------------------------------------
// results, export

int RunResults(const ConnectionFlags& flags, int64_t sweep_id, const ResultsOptions& options, Io io) {
  auto conn = Connect(flags);
  if (!conn.ok()) return ReportError(conn.status(), io);
  Connection& c = **conn;
  v1::GetResultsResponse resp;
  // Groups are paged by size (coordinator.proto): follow next_page_token.
  for (std::string token;;) {
    v1::GetResultsRequest req;
    req.set_sweep_id(sweep_id);
    req.set_page_token(token);
    v1::GetResultsResponse page;
    auto ctx = c.Context();
    grpc::Status st = c.jobs().GetResults(ctx.get(), req, &page);
    if (!st.ok()) return ReportError(c.Explain(st, "results of sweep " + std::to_string(sweep_id)), io);
    for (auto& g : *page.mutable_groups()) *resp.add_groups() = std::move(g);
    resp.set_pending_jobs(page.pending_jobs());
    token = page.next_page_token();
    if (token.empty()) break;
  }
  std::vector<v1::Job> jobs;  // their configs, for --vs-paper
  if (options.vs_paper) {
    auto listed = ListAllJobs(c, sweep_id, {});
    if (!listed.ok()) return ReportError(listed.status(), io);
    jobs = std::move(*listed);
  }
  std::vector<GroupView> groups = GroupViewsOf(resp, jobs);
  StatusOr<std::string> text = RenderResults(groups, options);
  if (!text.ok()) return ReportError(Status(text.status().code(), "sweep " + std::to_string(sweep_id) + ": " +
                                                                  text.status().message()), io);
  io.out << *text;
  if (resp.pending_jobs() > 0 && (options.format == "table" || options.format == "markdown")) {
    io.out << resp.pending_jobs() << " jobs of the sweep have not succeeded (yet); they are not counted\n";
  }
  return kExitOk;
}

int RunExport(const ConnectionFlags& flags, const ExportArgs& args, Io io) {
  if (args.format != "csv" && args.format != "json") {
    io.err << "error: --format " << args.format << ": expected csv or json\n";
    return kExitUsage;
  }
  auto conn = Connect(flags);
  if (!conn.ok()) return ReportError(conn.status(), io);
  Connection& c = **conn;
  auto jobs = ListAllJobs(c, args.sweep, {});
  if (!jobs.ok()) return ReportError(jobs.status(), io);

  std::set<std::string> axis_names, figure_names;
  std::vector<nlohmann::json> axes;
  std::vector<std::map<std::string, double>> figures;
  for (const auto& j : *jobs) {
    nlohmann::json a = nlohmann::json::parse(j.axes_json(), nullptr, false);
    if (!a.is_object()) a = nlohmann::json::object();
    a.erase("seed");
    for (const auto& [k, v] : a.items()) axis_names.insert(k);
    axes.push_back(a);
    std::map<std::string, double> f;
    if (j.state() == v1::JOB_STATE_SUCCEEDED) {
      nlohmann::json r = nlohmann::json::parse(j.result_json(), nullptr, false);
      if (r.is_object()) f = analysis::FlattenResult(r);
    }
    for (const auto& [k, v] : f) figure_names.insert(k);
    figures.push_back(std::move(f));
  }
  // Metric series per job.
  std::vector<std::vector<v1::MetricSeries>> series(jobs->size());
  if (args.metrics) {
    for (size_t i = 0; i < jobs->size(); ++i) {
      v1::GetMetricsRequest req;
      req.set_job_id((*jobs)[i].id());
      v1::GetMetricsResponse resp;
      auto ctx = c.Context();
      grpc::Status st = c.jobs().GetMetrics(ctx.get(), req, &resp);
      if (!st.ok()) return ReportError(c.Explain(st, "metrics of job " + std::to_string((*jobs)[i].id())), io);
      series[i].assign(resp.series().begin(), resp.series().end());
    }
  }

  if (args.format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (size_t i = 0; i < jobs->size(); ++i) {
      const v1::Job& j = (*jobs)[i];
      nlohmann::json rec = {{"job_id", j.id()},
                            {"state", JobStateName(j.state())},
                            {"seed", j.summary().seed()},
                            {"config_hash", j.config_hash()},
                            {"group_hash", j.group_hash()},
                            {"axes", axes[i]},
                            {"config", nlohmann::json::parse(j.config_json(), nullptr, false)},
                            {"figures", figures[i]}};
      if (!j.error().empty()) rec["error"] = j.error();
      if (args.metrics) {
        nlohmann::json m = nlohmann::json::object();
        for (const auto& s : series[i]) {
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
    io.out << out.dump(2) << "\n";
    return kExitOk;
  }

  // CSV. Without --metrics: one row per job. With --metrics: one row per
  // metric point (long format), the job's axes repeated on each.
  auto num = [](double v) {
    char buf[40];
    std::snprintf(buf, sizeof(buf), "%.17g", v);
    return std::string(buf);
  };
  std::vector<std::string> header = {"job_id", "state", "seed", "config_hash"};
  for (const auto& a : axis_names) header.push_back(a);
  if (args.metrics) {
    for (const char* h : {"metric", "attempt", "epoch", "step", "time_ms", "value"}) header.push_back(h);
  } else {
    for (const auto& f : figure_names) header.push_back(f);
  }
  Table t(header);
  for (size_t i = 0; i < jobs->size(); ++i) {
    const v1::Job& j = (*jobs)[i];
    std::vector<std::string> base = {std::to_string(j.id()), JobStateName(j.state()),
                                     std::to_string(j.summary().seed()), j.config_hash()};
    for (const auto& a : axis_names) base.push_back(axes[i].contains(a) ? AxisValueText(axes[i][a]) : "");
    if (args.metrics) {
      for (const auto& s : series[i]) {
        for (const auto& p : s.points()) {
          std::vector<std::string> row = base;
          row.insert(row.end(), {s.name(), std::to_string(p.attempt()), std::to_string(p.epoch()),
                                 std::to_string(p.step()), std::to_string(p.time_ms()), num(p.value())});
          t.AddRow(row);
        }
      }
    } else {
      for (const auto& f : figure_names) {
        auto it = figures[i].find(f);
        base.push_back(it == figures[i].end() ? "" : num(it->second));
      }
      t.AddRow(base);
    }
  }
  io.out << t.RenderCsv();
  return kExitOk;
}

// ---------------------------------------------------------------------------
// health

int RunHealth(const ConnectionFlags& flags, const std::string& address, Io io) {
  auto settings = ResolveSettings(flags);
  if (!settings.ok()) return ReportError(settings.status(), io);
  if (!address.empty()) {
    settings->coordinator = address;
    settings->source = "the argument";
  }
  Connection c(*settings);
  Status connected = c.WaitConnected();
  if (!connected.ok()) return ReportError(connected, io);
  // grpc.health.v1.HealthCheckRequest{service: ""} is the empty message.
  grpc::GenericStub stub(c.channel());
  grpc::ByteBuffer request, response;
  std::string empty;
  grpc::Slice slice(empty);
  request = grpc::ByteBuffer(&slice, 1);
  auto ctx = c.Context();
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(ctx.get(), "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   std::lock_guard<std::mutex> lock(mu);
                   status = std::move(s);
                   done = true;
                   cv.notify_one();
                 });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done; });
  }
  if (!status.ok()) return ReportError(c.Explain(status, "health check of " + settings->coordinator), io);
  // HealthCheckResponse{status = 1 (SERVING)} is the bytes 08 01.
  std::vector<grpc::Slice> slices;
  (void)response.Dump(&slices);
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  int serving_status = 0;  // UNKNOWN when the field is absent
  if (bytes.size() >= 2 && bytes[0] == 0x08) serving_status = static_cast<unsigned char>(bytes[1]);
  static const char* kNames[] = {"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"};
  const char* name = serving_status >= 0 && serving_status < 4 ? kNames[serving_status] : "UNKNOWN";
  if (serving_status == 1) {
    io.out << settings->coordinator << ": SERVING\n";
    return kExitOk;
  }
  io.err << "error: " << settings->coordinator << ": " << name << "\n";
  return kExitUnreachable;
}

}  // namespace lcsweep::cli
