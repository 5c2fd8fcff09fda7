#include "cli/jobs.h"

#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "analysis/flatten.h"
#include "cli/call.h"
#include "cli/format.h"
#include "cli/table.h"
#include "cli/workers_events.h"
#include "proto/convert.h"

namespace lcsweep::cli {

StatusOr<std::vector<v1::JobState>> ParseStates(const std::vector<std::string>& names) {
  std::vector<v1::JobState> states;
  for (const auto& s : names) {
    std::stringstream in(s);
    for (std::string name; std::getline(in, name, ',');) {
      if (name.empty()) continue;
      auto st = JobStateFromName(name);
      if (!st) return InvalidArgumentError("--state " + name + ": expected queued, running, succeeded, failed or cancelled");
      states.push_back(*st);
    }
  }
  return states;
}

StatusOr<std::vector<v1::Job>> FetchJobs(Connection& c, int64_t sweep, const std::vector<v1::JobState>& states,
                                         int64_t worker) {
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
    LCSWEEP_RETURN_IF_ERROR(Call(c, &v1::JobService::Stub::ListJobs, req, &resp,
                                 sweep ? "listing the jobs of sweep " + std::to_string(sweep) : "listing jobs"));
    for (auto& j : *resp.mutable_jobs()) all.push_back(std::move(j));
    token = resp.next_page_token();
  } while (!token.empty());
  return all;
}

std::string RenderJobs(const std::vector<v1::Job>& jobs, bool json, int64_t now_ms) {
  if (json) {
    v1::ListJobsResponse all;
    for (const auto& j : jobs) *all.add_jobs() = j;
    all.set_total(jobs.size());
    return ToJson(all) + "\n";
  }
  Table t({"ID", "STATE", "SWEEPS", "CONFIG", "ATTEMPT", "WORKER", "PROGRESS", "TEST ACC", "UPDATED"});
  for (int i : {0, 4, 5, 7}) t.SetRightAligned(i);
  for (const auto& j : jobs) {
    std::string config = AxesText(j.axes_json());
    if (config.empty()) {
      config = j.summary().dataset() + " " + j.summary().conv_mode() + " E=" + std::to_string(j.summary().lc_rate()) +
               " seed=" + std::to_string(j.summary().seed());
    }
    t.AddRow({std::to_string(j.id()), JobStateName(j.state()), JoinIds(j.sweep_ids()), config,
              std::to_string(j.attempt()) + "/" + std::to_string(j.max_attempts()),
              j.worker_id() ? std::to_string(j.worker_id()) : "-", ProgressText(j), FinalAccuracy(j),
              AgoText(j.updated_at_ms(), now_ms)});
  }
  return t.RenderText() + std::to_string(jobs.size()) + (jobs.size() == 1 ? " job\n" : " jobs\n");
}

StatusOr<JobDetail> FetchJobDetail(Connection& c, int64_t job_id) {
  JobDetail d;
  v1::GetJobRequest req;
  req.set_job_id(job_id);
  LCSWEEP_RETURN_IF_ERROR(Call(c, &v1::JobService::Stub::GetJob, req, &d.job, "job " + std::to_string(job_id)));
  // The history is an extra: a job whose trail cannot be read is still shown.
  auto events = FetchEvents(c, job_id, 0);
  if (events.ok()) d.events = std::move(*events);
  return d;
}

namespace {

void Indent(std::ostringstream& out, const std::string& text, const char* prefix) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) out << prefix << line << "\n";
}

}  // namespace

std::string RenderShow(const JobDetail& detail, bool json, int64_t now_ms) {
  if (json) return ToJson(detail.job) + "\n";
  const v1::Job& j = detail.job.job();
  std::ostringstream out;
  out << "job " << j.id() << "  " << JobStateName(j.state()) << "\n"
      << "  sweeps:       " << JoinIds(j.sweep_ids(), ", ") << "\n"
      << "  axes:         " << AxesText(j.axes_json()) << "\n"
      << "  config hash:  " << j.config_hash() << "\n"
      << "  attempt:      " << j.attempt() << " of " << j.max_attempts() << " (failures " << j.failures()
      << "; worker losses " << j.losses() << " of " << j.max_losses() << ")\n"
      << "  priority:     " << j.priority() << "\n"
      << "  worker:       " << (j.worker_id() ? std::to_string(j.worker_id()) : "-") << "\n"
      << "  created:      " << TimeText(j.created_at_ms()) << "\n"
      << "  started:      " << TimeText(j.started_at_ms()) << "\n"
      << "  finished:     " << TimeText(j.finished_at_ms()) << "\n";
  if (!j.error().empty()) out << "  error:        " << j.error() << (j.retryable() ? " (retryable)" : "") << "\n";
  if (j.progress().updated_at_ms() > 0) {
    out << "  progress:     " << ProgressText(j) << " (" << AgoText(j.progress().updated_at_ms(), now_ms) << ")\n";
    for (const auto& [k, v] : std::map<std::string, double>(j.progress().metrics().begin(),
                                                            j.progress().metrics().end())) {
      out << "    " << k << " = " << Num(v) << "\n";
    }
  }
  if (detail.job.has_latest_checkpoint()) {
    const auto& ck = detail.job.latest_checkpoint();
    out << "  checkpoint:   #" << ck.id() << " attempt " << ck.attempt() << ", epoch " << ck.epoch() << ", step "
        << ck.step() << ", " << ck.size_bytes() << " bytes, sha256 " << ck.sha256().substr(0, 16) << "..., "
        << TimeText(ck.created_at_ms()) << "\n";
  } else {
    out << "  checkpoint:   none\n";
  }
  if (!detail.events.empty()) {
    out << "  history:\n";
    for (const auto& e : detail.events) {
      out << "    " << TimeText(e.time_ms()) << "  attempt " << e.attempt() << "  "
          << (e.from_state() ? JobStateName(e.from_state()) + " -> " : "") << JobStateName(e.to_state()) << "  "
          << e.reason() << (e.worker_id() ? "  (worker " + std::to_string(e.worker_id()) + ")" : "") << "\n";
    }
  }
  out << "  config:\n";
  nlohmann::json cfg = nlohmann::json::parse(j.config_json(), nullptr, false);
  Indent(out, cfg.is_discarded() ? j.config_json() : cfg.dump(2), "    ");
  if (j.state() == v1::JOB_STATE_SUCCEEDED) {
    nlohmann::json r = nlohmann::json::parse(j.result_json(), nullptr, false);
    if (r.is_object()) {
      std::map<std::string, double> figures = analysis::FlattenResult(r);
      out << "  result figures (" << figures.size() << "):\n";
      Table t({"figure", "value"});
      t.SetRightAligned(1);
      for (const auto& [name, v] : figures) {
        if (name.rfind("job.", 0) == 0 || name.rfind("history[", 0) == 0) continue;  // config / per-epoch echo
        char buf[48];
        std::snprintf(buf, sizeof(buf), "%.6g", v);
        t.AddRow({name, buf});
      }
      Indent(out, t.RenderText(), "    ");
    }
  }
  return out.str();
}

int RunJobs(const ConnectionFlags& flags, const JobsArgs& args, Io io) {
  auto states = ParseStates(args.states);
  if (!states.ok()) return ReportError(states.status(), io);  // before connecting: a usage error
  return RunCommand(flags, io, [&](Connection& c) -> Status {
    LCSWEEP_ASSIGN_OR_RETURN(auto jobs, FetchJobs(c, args.sweep, *states, args.worker));
    io.out << RenderJobs(jobs, args.json, NowMs());
    return OkStatus();
  });
}

int RunShow(const ConnectionFlags& flags, int64_t job_id, bool json, Io io) {
  return RunCommand(flags, io, [&](Connection& c) -> Status {
    LCSWEEP_ASSIGN_OR_RETURN(JobDetail detail, FetchJobDetail(c, job_id));
    io.out << RenderShow(detail, json, NowMs());
    return OkStatus();
  });
}

}  // namespace lcsweep::cli
