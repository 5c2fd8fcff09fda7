// Cost: what a sweep's experiments used, per arm and in total, from the
// accounting rows of every attempt (one per lease, however it ended: the
// coordinator's AttemptUsage). The `lcsweep cost` report and the dashboard's
// cost view are both this summary.
//
// An arm is a seed group (the jobs whose configs differ only in the seed,
// the same group hash the results use), so cost lines up with the result
// cells. Attempts that did not produce the job's result (failed, lost to a
// dead worker, released by a drain, cancelled, stopped early) are "abandoned"
// and still counted: they are compute that was spent. Attempts whose worker
// never reported a measurement (e.g. lost before its first heartbeat) count
// as attempts with zero figures and are counted in `unmeasured`.
// Thread-safety: pure functions; the inputs' strings must outlive the call.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/resource_usage.h"

namespace lcsweep::analysis {

// One job as the report needs it.
struct CostJob {
  int64_t id = 0;
  std::string_view group_hash;   // config minus seed
  std::string_view axes_json;    // swept axes, seed included (removed in the arm)
};

// One attempt's accounting row.
struct CostAttempt {
  int64_t job_id = 0;
  std::string_view outcome;      // "succeeded", "failed", "lost", ... or "running"
  bool measured = false;
  ResourceUsage usage;
};

// Sums over a set of attempts.
struct CostTotals {
  int64_t attempts = 0;
  int64_t succeeded = 0;         // attempts that produced their job's result
  int64_t abandoned = 0;         // ended any other way (running ones are neither)
  int64_t running = 0;
  int64_t unmeasured = 0;        // no measurement ever arrived
  double wall_seconds = 0;
  double cpu_seconds = 0;
  double gpu_seconds = 0;
  double abandoned_cpu_seconds = 0;
  double abandoned_gpu_seconds = 0;
  int64_t images = 0;
  int64_t peak_host_bytes = 0;   // the largest of the attempts'
  int64_t peak_device_bytes = 0;
  double energy_joules = 0;      // over the attempts that measured it
  int64_t energy_attempts = 0;   // how many did
  std::map<std::string, int64_t> outcomes;   // outcome -> attempts
  std::set<std::string> device_models;
};

struct ArmCost {
  std::string group_hash;
  nlohmann::json axes = nlohmann::json::object();  // swept axes, seed removed
  int64_t jobs = 0;
  CostTotals totals;
};

struct CostReport {
  std::vector<ArmCost> arms;     // in order of their first job
  CostTotals total;
  int64_t jobs = 0;
};

// The report over `jobs` (in the given order) and their `attempts` (rows of
// jobs not in `jobs` are ignored).
CostReport SummarizeCost(const std::vector<CostJob>& jobs, const std::vector<CostAttempt>& attempts);

// Machine-readable form: {"jobs", "total": {...}, "arms": [{"axes", "jobs",
// "totals": {...}}]}; seconds as they are, plus "gpu_hours"/"cpu_hours".
nlohmann::json CostReportJson(const CostReport& report);

}  // namespace lcsweep::analysis
