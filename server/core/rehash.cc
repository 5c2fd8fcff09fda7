// Rehashing stored jobs (see rehash.h).
#include "server/core/rehash.h"

#include <algorithm>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "common/job_config_json.h"

namespace lcsweep {

RehashReport RehashJobs(std::vector<JobRecord>* jobs) {
  RehashReport report;
  std::map<std::string, std::vector<int64_t>> by_hash;
  std::map<std::string, std::set<std::string>> old_hashes;  // new hash -> the hashes its jobs had
  for (JobRecord& j : *jobs) {
    const std::string old_hash = j.hash;
    const nlohmann::json parsed = nlohmann::json::parse(j.config_json, nullptr, false);
    StatusOr<JobConfig> config = parsed.is_discarded() ? StatusOr<JobConfig>(InvalidArgumentError("not JSON"))
                                                       : JobConfigFromJson(parsed);
    if (!config.ok()) {
      report.unparsable.push_back(j.id);
      by_hash[j.hash].push_back(j.id);
      old_hashes[j.hash].insert(old_hash);
      continue;
    }
    const std::string hash = JobConfigHash(*config), group_hash = JobGroupHash(*config);
    if (hash != j.hash || group_hash != j.group_hash) {
      j.hash = hash;
      j.group_hash = group_hash;
      report.changed.push_back(j.id);
    }
    by_hash[j.hash].push_back(j.id);
    old_hashes[j.hash].insert(old_hash);
  }
  // Jobs that shared a hash before (re-runs of one config) are no news.
  for (auto& [hash, ids] : by_hash) {
    if (old_hashes[hash].size() > 1) {
      std::sort(ids.begin(), ids.end());
      report.collisions.push_back({hash, ids});
    }
  }
  return report;
}

}  // namespace lcsweep
