// LeaseQueue: which queued job a worker gets. Keeps the queued jobs ordered
// by priority and id, per sweep, and the running jobs counted per sweep, and
// answers "the best job this worker can run":
//
//  - only jobs whose requirements the worker meets (device "cpu" needs a
//    CPU; "cuda" a GPU with at least RequiredGpuMemoryGb free; "any" either);
//  - the highest priority wins;
//  - within it, fair share: the job whose sweeps have the fewest running
//    jobs (a job in several sweeps counts its least loaded sweep);
//  - ties FIFO by job id (submission order).
//
// That best job is always the first runnable job of one of its sweeps'
// queues, so Best() compares only the head of each sweep's queue:
// O(sweeps with queued jobs + jobs skipped as unrunnable).
//
// Ownership: holds ids and orderings only; the job records stay in the
// Coordinator's map, which Best() reads through the `jobs` argument.
// Thread-safety: none; the Coordinator calls it under its mutex.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "server/core/types.h"

namespace lcsweep {

class LeaseQueue {
 public:
  // Records that a job changed from `before` (nullptr: it is new) to `after`.
  // Both must carry the same id; sweep_ids may differ (a submission links it).
  void Update(const JobRecord* before, const JobRecord& after);

  // Id of the best queued job for `request` (see above), or nullopt.
  std::optional<int64_t> Best(const LeaseRequest& request,
                              const std::map<int64_t, JobRecord>& jobs) const;

  // Whether `worker` can run `job` at all.
  static bool Matches(const JobRecord& job, const LeaseRequest& worker);

  size_t queued() const { return queued_.size(); }

 private:
  using Key = std::pair<int, int64_t>;  // (-priority, job id): best first
  int64_t RunningInSweeps(const JobRecord& job) const;

  std::set<Key> queued_;
  std::map<int64_t, std::set<Key>> queued_by_sweep_;  // a job in several sweeps is in each
  std::map<int64_t, int64_t> running_per_sweep_;
};

}  // namespace lcsweep
