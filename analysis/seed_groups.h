// GroupBySeed: the jobs of a selection grouped by their config minus seed
// (the group hash), with mean / sample std / n over the succeeded jobs of
// every figure (analysis/flatten.h names). What the coordinator's
// GetResults returns (server/core/results.h adapts its JobRecords).
// Thread-safety: pure function. The inputs' strings must outlive the call.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/stats.h"

namespace lcsweep::analysis {

// One job as the grouping needs it.
struct JobResultInput {
  int64_t id = 0;
  std::string_view group_hash;   // config minus seed
  std::string_view axes_json;    // swept axes, seed included
  std::string_view config_json;  // for the seed
  std::string_view result_json;  // read only when succeeded
  bool succeeded = false;
};

struct SeedGroup {
  std::string group_hash;
  std::string axes_json;             // axes of the first job of the group, "seed" removed
  std::vector<int64_t> job_ids;      // every job of the selection in this group
  std::vector<int64_t> seeds;        // seeds of the succeeded jobs
  int64_t n_succeeded = 0;
  std::map<std::string, Stats> figures;
};

struct SeedGroups {
  std::vector<SeedGroup> groups;     // in order of their first job
  int64_t pending_jobs = 0;          // jobs that are not succeeded
};

// Groups `jobs` (in the given order) by group hash. A succeeded job whose
// result does not parse counts as succeeded without figures.
SeedGroups GroupBySeed(const std::vector<JobResultInput>& jobs);

}  // namespace lcsweep::analysis
