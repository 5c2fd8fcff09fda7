// Rehashing stored jobs under the current identity rule
// (common/job_identity.h, kConfigHashVersion). A store written under an
// older rule holds hashes of the whole config, so a job that differs from
// another only in run settings has its own hash there; the coordinator
// calls RehashJobs when StoreSnapshot::config_hash_version is older, writes
// the changed records and the new version in one commit, and only then
// schedules on them.
//
// Collisions: two or more stored jobs may get one hash (they were one
// experiment run twice with other run settings). None is deleted or
// merged: they keep their ids, states, results and sweep links; the newest
// is the one a later submission links (the rule for jobs that share a hash,
// server/core/submit_plan.h), and their seed group now pools them. Each
// collision is reported (Collision) so that the caller can log it and
// write an audit event on each job.
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "server/core/types.h"

namespace lcsweep {

struct RehashReport {
  std::vector<int64_t> changed;      // ids of the jobs whose hash or group hash changed
  std::vector<int64_t> unparsable;   // ids whose config_json no longer parses (hashes kept)
  struct Collision {
    std::string hash;
    std::vector<int64_t> job_ids;    // ascending
  };
  // Hashes that jobs with different old hashes now share, by hash (jobs
  // that shared their hash before, re-runs of one config, are not one).
  std::vector<Collision> collisions;
};

// Recomputes hash and group_hash of every job in `jobs` from its config_json.
RehashReport RehashJobs(std::vector<JobRecord>* jobs);

}  // namespace lcsweep
