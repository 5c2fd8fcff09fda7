#include "cli/sweeps.h"

#include "cli/call.h"
#include "cli/format.h"
#include "cli/table.h"

namespace lcsweep::cli {

StatusOr<std::vector<v1::Sweep>> FetchSweeps(Connection& c, const std::string& tag) {
  std::vector<v1::Sweep> sweeps;
  std::string token;
  do {
    v1::ListSweepsRequest req;
    req.set_page_size(1000);
    req.set_page_token(token);
    req.set_tag(tag);
    v1::ListSweepsResponse resp;
    LCSWEEP_RETURN_IF_ERROR(Call(c, &v1::JobService::Stub::ListSweeps, req, &resp, "listing sweeps"));
    for (auto& s : *resp.mutable_sweeps()) sweeps.push_back(std::move(s));
    token = resp.next_page_token();
  } while (!token.empty());
  return sweeps;
}

std::string RenderSweeps(const std::vector<v1::Sweep>& sweeps, bool json, int64_t now_ms) {
  if (json) {
    v1::ListSweepsResponse all;
    for (const auto& s : sweeps) *all.add_sweeps() = s;
    return ToJson(all) + "\n";
  }
  if (sweeps.empty()) return "no sweeps yet; submit one with: lcsweep submit SWEEP.json\n";
  Table t({"ID", "NAME", "JOBS", "DONE", "RUNNING", "QUEUED", "FAILED", "CANCELLED", "STOPPED",
           "PROGRESS", "CREATED"});
  for (int i : {0, 2, 3, 4, 5, 6, 7, 8}) t.SetRightAligned(i);
  for (const auto& s : sweeps) {
    const auto& n = s.counts();
    double finished = n.succeeded() + n.failed() + n.cancelled() + n.stopped();
    t.AddRow({std::to_string(s.id()), s.name() + (s.cancelled_at_ms() ? " (cancelled)" : ""),
              std::to_string(n.total()), std::to_string(n.succeeded()), std::to_string(n.running()),
              std::to_string(n.queued()), std::to_string(n.failed()), std::to_string(n.cancelled()),
              std::to_string(n.stopped()), ProgressBar(n.total() ? finished / n.total() : 0, 20),
              AgoText(s.created_at_ms(), now_ms)});
  }
  return t.RenderText();
}

int RunListSweeps(const ConnectionFlags& flags, const std::string& tag, bool json, Io io) {
  return RunCommand(flags, io, [&](Connection& c) -> Status {
    LCSWEEP_ASSIGN_OR_RETURN(auto sweeps, FetchSweeps(c, tag));
    io.out << RenderSweeps(sweeps, json, NowMs());
    return OkStatus();
  });
}

}  // namespace lcsweep::cli
