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
// Caching: per-job rows (config summary, axes, the flattened result figures
// of succeeded jobs) are kept in memory and refreshed only for jobs the
// Coordinator reports as changed (it calls our listener). A result is
// flattened once, when its job succeeds; aggregation over seeds then reads
// one number per job for the asked figure. This is what keeps a sweep of
// 10,000 jobs fast: no request parses 10,000 configs or results, and no
// request holds the Coordinator's lock while aggregating.
//
// Thread-safety: Handle() may be called from many threads at once.
// Ownership: does not own the Coordinator, which must outlive this object.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_map>
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

  // Reads every job into the cache now (the server calls it on a background
  // thread at start, so the first visitor does not wait for it).
  void WarmUp();

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
    std::string group_hash;   // config minus seed: the seed-aggregation group
    nlohmann::json axes;      // swept axis path -> value (seed included)
    // The common axes read from the config (kSummaryPaths, "variant"; no
    // seed), shared by every job of a group: parsed once per group.
    std::shared_ptr<const nlohmann::json> summary;
    JobProgress progress;
    // The flattened result figures (server/core/results.h naming) of a
    // succeeded job: interned figure ids, ascending, and their values.
    std::vector<uint32_t> figure_ids;
    std::vector<double> figure_values;
    const double* Figure(uint32_t id) const;
  };
  void OnChange(const ChangeNotice& notice);
  // Brings rows_ up to date with the Coordinator (mu_ held).
  void SyncLocked();
  JobRow MakeRow(const JobRecord& job);  // mu_ held
  std::vector<const JobRow*> SweepRowsLocked(int64_t sweep_id) const;
  // Interned figure name ids (mu_ held); kNoFigure when unknown.
  uint32_t FigureId(const std::string& name) const;
  uint32_t InternFigure(const std::string& name);
  static constexpr uint32_t kNoFigure = 0xffffffffu;

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
  std::map<std::string, std::shared_ptr<const nlohmann::json>> summaries_;  // by group hash
  std::unordered_map<std::string, uint32_t> figure_ids_;

  // Down-sampled curves of finished jobs (they no longer change), by
  // "job|name|attempt|max_points", with the job version they were made at.
  std::mutex series_mu_;
  std::unordered_map<std::string, std::pair<uint64_t, nlohmann::json>> series_cache_;
  static constexpr size_t kSeriesCacheEntries = 512;
  std::vector<std::string> figure_names_;
};

}  // namespace lcsweep
