// EarlyStopper: the verdicts of the sweeps' early-stopping rules
// (common/early_stopping.h says what each rule does). It keeps the watched
// metric's series of each job of the sweeps that opted in, as the jobs report
// it, and answers two questions the Coordinator asks:
//  - MedianVerdict: after a job reported the metric for an epoch, should the
//    job stop (rule "median")?
//  - SeedsVerdicts: after a job of the sweep succeeded, which arms are worse
//    than the best one with the seeds run so far (rule "seeds")?
// The Coordinator applies a verdict (Trigger kStop) only to jobs whose every
// sweep opted in: a job another sweep needs is never stopped for this one.
//
// Arms are seed groups (JobRecord::group_hash). An arm's value at an epoch is
// the mean over its jobs that reported that epoch (a resumed attempt's report
// of an epoch replaces the earlier one); a job's final value is its value at
// its last epoch.
//
// Ownership: holds copies of the policies and the series; reads the jobs
// through the JobLookup the caller passes, only during the call.
// Thread-safety: none; the Coordinator calls it under its mutex.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/early_stopping.h"
#include "server/core/types.h"

namespace lcsweep {

class EarlyStopper {
 public:
  using JobLookup = std::function<const JobRecord*(int64_t job_id)>;

  // Opts a sweep in (again: replaces its policy).
  void Watch(int64_t sweep_id, const EarlyStopping& policy);
  // The sweep's policy, or null when it did not opt in.
  const EarlyStopping* PolicyOf(int64_t sweep_id) const;
  // The policy that governs `job`: its first sweep's, when every sweep of it
  // opted in; else null.
  const EarlyStopping* PolicyOfJob(const JobRecord& job) const;
  // Whether some sweep watches `metric` (the Coordinator skips others).
  bool Watches(const std::string& metric) const { return metrics_.count(metric) > 0; }

  // Stores the job's value of the watched metric at `epoch`.
  void Record(int64_t job_id, int64_t epoch, double value);

  // Rule "median" for `job` after its report of `epoch`: the reason to stop
  // it, or nullopt. `sweep_jobs` are the jobs of the sweep the policy is of.
  std::optional<std::string> MedianVerdict(const EarlyStopping& policy, const JobRecord& job,
                                           int64_t epoch, const std::set<int64_t>& sweep_jobs,
                                           const JobLookup& lookup) const;

  struct ArmVerdict {
    std::string group_hash;  // the arm to stop
    std::string reason;
  };
  // Rule "seeds" over the arms of one sweep: every arm with at least
  // min_seeds succeeded jobs that a one-sided test (paired by seed when both
  // arms ran the same seeds, else Welch; analysis/significance.h) finds
  // worse than the best such arm at level alpha / (the arm's planned seeds).
  std::vector<ArmVerdict> SeedsVerdicts(const EarlyStopping& policy,
                                        const std::set<int64_t>& sweep_jobs,
                                        const JobLookup& lookup) const;

 private:
  std::map<int64_t, EarlyStopping> policies_;            // by sweep id
  std::multiset<std::string> metrics_;                   // watched metric names
  std::map<int64_t, std::map<int64_t, double>> series_;  // job -> epoch -> value
};

}  // namespace lcsweep
