// JsonApi: the dashboard's JSON API over the Coordinator, without any HTTP
// library types, so it is testable by calling Handle() directly.
//
// Routes (all under /api/v1; ids are the coordinator's integer ids):
//   GET  /sweeps                      sweeps with job counts per state
//   GET  /sweeps/{id}                 one sweep: spec, counts, swept axes, result figures
//   GET  /sweeps/{id}/jobs            job table: state=a,b  filter=TEXT  sort=COL  order=asc|desc
//                                     offset=N  limit=N (<= 1000)  metric=NAME
//   GET  /sweeps/{id}/results         pivot over seeds: metric=  rows=AXIS  cols=AXIS, with the
//                                     published numbers of PAPER.md section 7 where they apply
//   GET  /sweeps/{id}/ablation        metric=  x=AXIS  series=AXIS[,AXIS]: mean and std error
//                                     over seeds per point, one series per value combination
//   POST /sweeps/{id}/cancel          (admin)
//   GET  /jobs/{id}                   config, result, progress, axes, metric names
//   GET  /jobs/{id}/metrics           names=a,b  max_points=N (0 = all)  after_step=S  attempt=A
//   GET  /jobs/{id}/events            audit trail
//   POST /jobs/{id}/cancel, /retry    (admin)
//   GET  /workers                     workers, devices, current jobs, throughput, last heartbeat
//   GET  /whoami                      the role of the presented token
// Errors: {"error": what went wrong, "hint": how to fix it} with an HTTP code
// that matches the Status code (400, 401, 403, 404, 409, 503, 500).
//
// Axis paths are the dotted config paths of the sweep ("model.conv.lc_rate"),
// plus "variant": "LC frozen", "LC learned", "plain learned", "plain frozen".
//
// Caching: per-job rows (parsed config summary, axes, result scalars) are
// kept in memory and refreshed only for jobs the Coordinator reports as
// changed (it calls our listener); seed-aggregated results are cached per
// sweep until one of its jobs changes. This is what keeps a sweep of 10,000
// jobs fast: no request parses 10,000 configs.
//
// Thread-safety: Handle() may be called from many threads at once.
// Ownership: does not own the Coordinator, which must outlive this object.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/core/coordinator.h"

namespace lcsweep {

struct ApiRequest {
  std::string method = "GET";
  std::string path;                           // e.g. "/api/v1/sweeps/3/jobs"
  std::map<std::string, std::string> query;   // decoded query parameters
  std::string role;                           // role of the bearer token; "" = none
  bool token_presented = false;               // an Authorization header was sent
};

struct ApiResponse {
  int status = 200;
  nlohmann::json body;
};

// HTTP status for a Status code (OK -> 200).
int HttpStatusFor(const Status& status);
// {"error": ..., "hint": ...}
ApiResponse ErrorResponse(int http_status, const std::string& error, const std::string& hint);

class JsonApi {
 public:
  explicit JsonApi(Coordinator* coordinator);
  ~JsonApi();
  JsonApi(const JsonApi&) = delete;
  JsonApi& operator=(const JsonApi&) = delete;

  ApiResponse Handle(const ApiRequest& request);

  // The "job" event the live stream sends for a job change: id, state,
  // sweeps, attempt, worker, progress. null when the job is unknown.
  nlohmann::json JobEvent(int64_t job_id);

  // Roles allowed to cancel and retry.
  static bool CanMutate(const std::string& role) { return role == "admin"; }

 private:
  // What the job table, filters and plots need of one job, parsed once.
  struct JobRow {
    int64_t id = 0;
    uint64_t version = 0;
    JobState state = JobState::kQueued;
    int attempt = 0;
    int max_attempts = 0;
    int priority = 0;
    int64_t worker_id = 0;
    std::vector<int64_t> sweep_ids;
    int64_t created_ms = 0, started_ms = 0, finished_ms = 0, updated_ms = 0;
    std::string error;
    nlohmann::json axes;      // swept axis path -> value
    nlohmann::json summary;   // the common axes read from the config (see kSummaryPaths)
    JobProgress progress;
    std::map<std::string, double> result_scalars;  // result figures outside arrays
  };
  struct ResultsCache {
    uint64_t generation = 0;
    std::vector<ResultGroup> groups;
  };

  void OnChange(const ChangeNotice& notice);
  // Brings rows_ up to date with the Coordinator (mu_ held).
  void SyncLocked();
  JobRow MakeRow(const JobRecord& job) const;
  // Seed-aggregated groups of a sweep, cached (mu_ held).
  StatusOr<const std::vector<ResultGroup>*> ResultsLocked(int64_t sweep_id);
  std::vector<const JobRow*> SweepRowsLocked(int64_t sweep_id) const;

  ApiResponse ListSweeps();
  ApiResponse GetSweep(int64_t id);
  ApiResponse ListJobs(int64_t sweep_id, const ApiRequest& request);
  ApiResponse Results(int64_t sweep_id, const ApiRequest& request);
  ApiResponse Ablation(int64_t sweep_id, const ApiRequest& request);
  ApiResponse CancelSweep(int64_t sweep_id, const ApiRequest& request);
  ApiResponse GetJob(int64_t id);
  ApiResponse Metrics(int64_t id, const ApiRequest& request);
  ApiResponse Events(int64_t id);
  ApiResponse MutateJob(int64_t id, const std::string& action, const ApiRequest& request);
  ApiResponse Workers();

  Coordinator* const coordinator_;
  int listener_id_ = 0;

  std::mutex mu_;
  bool all_dirty_ = true;
  std::set<int64_t> dirty_;
  std::map<int64_t, JobRow> rows_;
  std::map<int64_t, std::unique_ptr<ResultsCache>> results_;  // by sweep id
  std::map<int64_t, uint64_t> sweep_generation_;  // bumped when a job of the sweep changes
};

}  // namespace lcsweep
