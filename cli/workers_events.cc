#include "cli/workers_events.h"

#include "cli/call.h"
#include "cli/format.h"
#include "cli/table.h"
#include "proto/convert.h"

namespace lcsweep::cli {

namespace {
constexpr int kEventsPerPage = 5000;  // the server's maximum (coordinator.proto)
}  // namespace

StatusOr<std::vector<v1::Worker>> FetchWorkers(Connection& c, bool all) {
  std::vector<v1::Worker> workers;
  // Pages are cut by size (coordinator.proto): follow next_page_token.
  for (std::string token;;) {
    v1::ListWorkersRequest req;
    req.set_include_dead(all);
    req.set_page_token(token);
    v1::ListWorkersResponse page;
    LCSWEEP_RETURN_IF_ERROR(Call(c, &v1::JobService::Stub::ListWorkers, req, &page, "listing workers"));
    for (auto& w : *page.mutable_workers()) workers.push_back(std::move(w));
    token = page.next_page_token();
    if (token.empty()) break;
  }
  return workers;
}

std::string RenderWorkers(const std::vector<v1::Worker>& workers, bool all, bool json, int64_t now_ms) {
  if (json) {
    v1::ListWorkersResponse resp;
    for (const auto& w : workers) *resp.add_workers() = w;
    return ToJson(resp) + "\n";
  }
  if (workers.empty()) {
    return all ? "no workers have registered\n"
               : "no live workers (start one: lcsweep-worker --coordinator HOST:PORT; --all shows dead ones)\n";
  }
  Table t({"ID", "NAME", "HOST", "DEVICES", "SLOTS", "JOBS", "ALIVE", "LAST SEEN"});
  for (int i : {0, 4}) t.SetRightAligned(i);
  for (const auto& w : workers) {
    std::string devices;
    for (const auto& d : w.devices()) devices += (devices.empty() ? "" : ",") + (d.name().empty() ? d.kind() : d.name());
    std::string jobs = JoinIds(w.job_ids());
    t.AddRow({std::to_string(w.id()), w.name(), w.hostname(), devices, std::to_string(w.slots()),
              jobs.empty() ? "-" : jobs, w.alive() ? "yes" : "no", AgoText(w.last_seen_at_ms(), now_ms)});
  }
  return t.RenderText();
}

StatusOr<std::vector<v1::Event>> FetchEvents(Connection& c, int64_t job_id, int64_t sweep_id) {
  std::vector<v1::Event> events;
  const std::string what =
      job_id ? "events of job " + std::to_string(job_id) : "events of sweep " + std::to_string(sweep_id);
  for (int64_t after = 0;;) {
    v1::ListEventsRequest req;
    req.set_job_id(job_id);
    req.set_sweep_id(sweep_id);
    req.set_after_id(after);
    req.set_limit(kEventsPerPage);
    v1::ListEventsResponse resp;
    LCSWEEP_RETURN_IF_ERROR(Call(c, &v1::JobService::Stub::ListEvents, req, &resp, what));
    for (auto& e : *resp.mutable_events()) events.push_back(std::move(e));
    // A short page ends the trail unless it was cut by size (next_page_token).
    if (resp.events_size() == 0 || (resp.events_size() < kEventsPerPage && resp.next_page_token().empty())) break;
    after = events.back().id();
  }
  return events;
}

std::string RenderEvents(const std::vector<v1::Event>& events, bool json) {
  if (json) {
    v1::ListEventsResponse all;
    for (const auto& e : events) *all.add_events() = e;
    return ToJson(all) + "\n";
  }
  Table t({"ID", "TIME", "JOB", "ATTEMPT", "CHANGE", "REASON", "WORKER"});
  for (int i : {0, 2, 3}) t.SetRightAligned(i);
  for (const auto& e : events) {
    t.AddRow({std::to_string(e.id()), TimeText(e.time_ms()), std::to_string(e.job_id()), std::to_string(e.attempt()),
              (e.from_state() ? JobStateName(e.from_state()) : "(new)") + " -> " + JobStateName(e.to_state()),
              e.reason(), e.worker_id() ? std::to_string(e.worker_id()) : "-"});
  }
  return t.RenderText();
}

int RunWorkers(const ConnectionFlags& flags, bool all, bool json, Io io) {
  return RunCommand(flags, io, [&](Connection& c) -> Status {
    LCSWEEP_ASSIGN_OR_RETURN(auto workers, FetchWorkers(c, all));
    io.out << RenderWorkers(workers, all, json, NowMs());
    return OkStatus();
  });
}

int RunEvents(const ConnectionFlags& flags, int64_t job_id, int64_t sweep_id, bool json, Io io) {
  return RunCommand(flags, io, [&](Connection& c) -> Status {
    LCSWEEP_ASSIGN_OR_RETURN(auto events, FetchEvents(c, job_id, sweep_id));
    // The server answers an unknown job with no events: say so rather than print nothing.
    if (events.empty() && job_id) {
      v1::GetJobRequest req;
      req.set_job_id(job_id);
      v1::GetJobResponse resp;
      LCSWEEP_RETURN_IF_ERROR(Call(c, &v1::JobService::Stub::GetJob, req, &resp, "job " + std::to_string(job_id)));
    }
    io.out << RenderEvents(events, json);
    return OkStatus();
  });
}

}  // namespace lcsweep::cli
