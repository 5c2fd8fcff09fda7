// GET /api/v1/sweeps/{id}/cost: the sweep's compute accounting per arm
// (analysis/cost.h, the same summary as `lcsweep cost`) with each arm's
// test accuracy and learned parameters beside it, for the dashboard's cost
// table and its accuracy-against-compute and accuracy-against-parameters
// plots.
#include <map>

#include "analysis/cost.h"
#include "analysis/figures.h"
#include "server/http/json_api.h"

namespace lcsweep {
namespace {

using nlohmann::json;

constexpr const char* kLearnedParameters = "model.parameters.learned";

}  // namespace

ApiResponse JsonApi::Cost(int64_t sweep_id) {
  auto sweep = coordinator_->GetSweep(sweep_id);
  if (!sweep.ok()) return FromStatus(sweep.status(), "list the sweeps with GET /api/v1/sweeps");
  // The jobs (copied out of the index) and each group's figures.
  struct JobCopy {
    int64_t id;
    std::string group_hash;
    std::string axes_json;
  };
  std::vector<JobCopy> jobs;
  std::map<std::string, std::vector<double>> accuracy, learned;
  index_.Read([&](const JobIndex::View& view) {
    const uint32_t acc_id = view.FigureId(analysis::kDefaultFigure);
    const uint32_t params_id = view.FigureId(kLearnedParameters);
    for (const JobIndex::Row* r : view.SweepRows(sweep_id)) {
      jobs.push_back({r->id, r->group_hash, r->axes.dump()});
      if (r->state != JobState::kSucceeded) continue;
      if (const double* v = r->Figure(acc_id)) accuracy[r->group_hash].push_back(*v);
      if (const double* v = r->Figure(params_id)) learned[r->group_hash].push_back(*v);
    }
  });
  std::vector<AttemptUsage> rows;
  ListUsageRequest req;
  req.sweep_id = sweep_id;
  req.limit = Coordinator::kMaxUsageLimit;
  for (;;) {
    StatusOr<std::vector<AttemptUsage>> page = coordinator_->ListUsage(req);
    if (!page.ok()) return FromStatus(page.status(), "");
    for (AttemptUsage& a : *page) rows.push_back(std::move(a));
    if (static_cast<int>(page->size()) < req.limit) break;
    req.after_job_id = rows.back().job_id;
    req.after_lease = rows.back().lease;
  }
  std::vector<analysis::CostJob> in_jobs;
  for (const JobCopy& j : jobs) in_jobs.push_back({j.id, j.group_hash, j.axes_json});
  std::vector<analysis::CostAttempt> in_rows;
  for (const AttemptUsage& a : rows) in_rows.push_back({a.job_id, a.outcome, a.measured, a.usage});
  const analysis::CostReport report = analysis::SummarizeCost(in_jobs, in_rows);
  json out = analysis::CostReportJson(report);
  for (size_t i = 0; i < report.arms.size(); ++i) {
    const std::string& group = report.arms[i].group_hash;
    json& arm = out["arms"][i];
    arm["accuracy"] = analysis::StatsJson(analysis::ComputeStats(accuracy[group]));
    const analysis::Stats params = analysis::ComputeStats(learned[group]);
    arm["learned_parameters"] = params.n > 0 ? json(params.mean) : json();
  }
  out["sweep_id"] = sweep_id;
  out["accuracy_figure"] = analysis::kDefaultFigure;
  // The plots' compute axis: GPU hours when the sweep ran on GPUs.
  out["compute_axis"] = report.total.gpu_seconds > 0 ? "gpu_hours" : "cpu_hours";
  return ApiResponse{200, out};
}

}  // namespace lcsweep
