// SubmitPlan: what a sweep submission would write, computed from the parsed
// sweep and the jobs it finds by config hash, without touching the
// Coordinator's state. A dry run is a plan that is never committed; a real
// submission plans outside the Coordinator's mutex (planning 100k jobs takes
// seconds of JSON work) and then, under the mutex, checks that the jobs the
// plan read have not changed since and commits (see Coordinator::SubmitSweep;
// submissions are serialised among themselves, so the ids a plan is given
// stay free and no other job with one of its hashes can appear meanwhile).
//
// Dedupe rules (every expanded job is one of these outcomes):
//  - no job with its hash, or force and the newest one is finished
//    (succeeded/failed/cancelled): a new job (kCreated / kForced);
//  - the newest job with its hash is queued or running: linked (kReused); a
//    queued one's priority is raised to the submission's if higher;
//  - succeeded: linked, its result returned (kReusedResult);
//  - failed or cancelled: linked and requeued with a fresh budget
//    (kRequeued; job_lifecycle's kResubmit).
//
// Thread-safety: pure function over values.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/status.h"
#include "common/sweep_spec.h"
#include "server/core/job_lifecycle.h"
#include "server/core/types.h"

namespace lcsweep {

// The existing jobs a submission may link, by config hash: a copy of the
// newest job with each hash of the expansion that exists.
using DedupeIndex = std::unordered_map<std::string, JobRecord>;

struct SubmitPlan {
  SweepRecord sweep;
  // New and changed jobs (linked, requeued, priority raised), ascending id,
  // each with the audit entry it writes (has_event false: none).
  std::vector<Transition> jobs;
  // The existing jobs the plan read: (id, JobRecord::version). The plan is
  // stale if one of them changed before it is committed.
  std::vector<std::pair<int64_t, uint64_t>> read;
  SubmitSweepResult result;   // ids 0 on a dry run
};

// The link of one existing job into `sweep` at `now` (the dedupe rules
// above, for a job that is linked rather than run again): the job's new
// record and audit entry; `submitted` gets its outcome, state and result.
Transition PlanLink(const JobRecord& existing, const SweepRecord& sweep, int64_t now,
                    SubmittedJob* submitted);

// Plans `sweep` (already parsed and expanded) as submitted by `request` at
// `now`, as sweep `sweep_id` whose new jobs get first_job_id, first_job_id+1,
// ... in expansion order. `index` holds the existing jobs found for the
// expansion's hashes.
SubmitPlan PlanSubmit(const Sweep& sweep, const SubmitSweepRequest& request,
                      const DedupeIndex& index, int64_t sweep_id, int64_t first_job_id,
                      int64_t now);

}  // namespace lcsweep
