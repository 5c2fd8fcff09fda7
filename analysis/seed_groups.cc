// Grouping of jobs over seeds (see seed_groups.h).
#include "analysis/seed_groups.h"

#include <unordered_map>

#include <nlohmann/json.hpp>

#include "analysis/flatten.h"

namespace lcsweep::analysis {

SeedGroups GroupBySeed(const std::vector<JobResultInput>& jobs) {
  SeedGroups out;
  std::unordered_map<std::string, size_t> index;  // group hash -> position
  std::vector<std::map<std::string, std::vector<double>>> values;
  for (const JobResultInput& job : jobs) {
    auto [it, inserted] = index.emplace(std::string(job.group_hash), out.groups.size());
    if (inserted) {
      SeedGroup g;
      g.group_hash = std::string(job.group_hash);
      nlohmann::json axes = nlohmann::json::parse(job.axes_json, nullptr, false);
      if (axes.is_object()) axes.erase("seed");
      g.axes_json = axes.is_discarded() ? "{}" : axes.dump();
      out.groups.push_back(std::move(g));
      values.emplace_back();
    }
    SeedGroup& g = out.groups[it->second];
    g.job_ids.push_back(job.id);
    if (!job.succeeded) {
      ++out.pending_jobs;
      continue;
    }
    ++g.n_succeeded;
    nlohmann::json config = nlohmann::json::parse(job.config_json, nullptr, false);
    if (config.is_object() && config.contains("seed") && config["seed"].is_number_integer())
      g.seeds.push_back(config["seed"].get<int64_t>());
    nlohmann::json result = nlohmann::json::parse(job.result_json, nullptr, false);
    if (result.is_discarded()) continue;
    for (const auto& [name, v] : FlattenResult(result)) values[it->second][name].push_back(v);
  }
  for (size_t i = 0; i < out.groups.size(); ++i)
    for (const auto& [name, vs] : values[i]) out.groups[i].figures[name] = ComputeStats(vs);
  return out;
}

}  // namespace lcsweep::analysis
