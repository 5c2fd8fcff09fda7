// JobRecord -> analysis::GroupBySeed -> ResultsSummary (see results.h).
#include "server/core/results.h"

#include "analysis/seed_groups.h"

namespace lcsweep {

ResultsSummary AggregateResults(const std::vector<const JobRecord*>& jobs) {
  std::vector<analysis::JobResultInput> inputs;
  inputs.reserve(jobs.size());
  for (const JobRecord* j : jobs) {
    inputs.push_back({j->id, j->group_hash, j->axes_json, j->config_json, j->result_json,
                      j->state == JobState::kSucceeded});
  }
  analysis::SeedGroups grouped = analysis::GroupBySeed(inputs);
  ResultsSummary out;
  out.pending_jobs = grouped.pending_jobs;
  out.groups.reserve(grouped.groups.size());
  for (analysis::SeedGroup& g : grouped.groups) {
    ResultGroup r;
    r.group_hash = std::move(g.group_hash);
    r.axes_json = std::move(g.axes_json);
    r.job_ids = std::move(g.job_ids);
    r.seeds = std::move(g.seeds);
    r.n_succeeded = g.n_succeeded;
    for (const auto& [name, s] : g.figures) r.figures[name] = FigureStats{s.mean, s.std, s.n};
    out.groups.push_back(std::move(r));
  }
  return out;
}

}  // namespace lcsweep
