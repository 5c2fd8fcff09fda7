// JsonApi: the dashboard's JSON API over the Coordinator, without any HTTP
// library types, so it is testable by calling Handle() directly.
//
// Routes (all under /api/v1; ids are the coordinator's integer ids):
//   GET  /sweeps                      sweeps with job counts per state
//   GET  /sweeps/{id}                 one sweep: spec, counts, swept axes, result figures
//   GET  /sweeps/{id}/jobs            job table: state=a,b  filter=TEXT  sort=COL  order=asc|desc
//                                     offset=N  limit=N (<= 1000)  metric=NAME
//   GET  /sweeps/{id}/results         pivot over seeds: metric=  rows=AXIS  cols=AXIS, with the
//                                     published numbers (analysis/published.h) where they apply
//   GET  /sweeps/{id}/ablation        metric=  x=AXIS  series=AXIS[,AXIS]: mean and std error
//                                     over seeds per point, one series per value combination
//   GET  /sweeps/{id}/cost            compute per arm and in total (analysis/cost.h) with each
//                                     arm's test accuracy and learned parameters
//   POST /sweeps/{id}/cancel          (admin, client)
//   GET  /jobs/{id}                   config, result, progress, axes, metric names
//   GET  /jobs/{id}/metrics           names=a,b  max_points=N (0 = all)  after_step=S  attempt=A
//   GET  /jobs/{id}/events            audit trail
//   POST /jobs/{id}/cancel, /retry    (admin, client)
//   GET  /workers                     workers, devices, current jobs, throughput, last heartbeat
//   GET  /whoami                      the role of the caller (HttpServer authenticates it)
//   GET  /schema                      the result document's schema (analysis::SchemaJson)
// Errors: {"error": what went wrong, "hint": how to fix it} with an HTTP code
// that matches the Status code (400, 401, 403, 404, 409, 503, 500).
//
// Axis paths are the dotted config paths of the sweep ("model.conv.lc_rate"),
// plus "variant": "LC frozen", "LC learned", "plain learned", "plain frozen".
//
// What a result means (figure names, the default figure, percent, seed
// statistics, pivot, ablation, published numbers) is analysis/'s; this class
// routes, reads the job index (server/http/job_index.h: per-job rows kept in
// step with the Coordinator, a result flattened once when its job succeeds)
// and the filter language (server/http/job_query.h), and writes JSON.
// Handlers of sweeps and results are in json_api.cc, of jobs and workers in
// json_api_jobs.cc.
//
// Thread-safety: Handle() may be called from many threads at once.
// Ownership: does not own the Coordinator, which must outlive this object.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/groups.h"
#include "server/auth/roles.h"
#include "server/core/coordinator.h"
#include "server/http/api_types.h"
#include "server/http/job_index.h"

namespace lcsweep {

class JsonApi {
 public:
  explicit JsonApi(Coordinator* coordinator);
  JsonApi(const JsonApi&) = delete;
  JsonApi& operator=(const JsonApi&) = delete;

  ApiResponse Handle(const ApiRequest& request);

  // Reads every job into the index now (the server calls it on a background
  // thread at start, so the first visitor does not wait for it).
  void WarmUp() { index_.WarmUp(); }

  // The "job" event the live stream sends for a job change: id, state,
  // sweeps, attempt, worker, progress. null when the job is unknown.
  nlohmann::json JobEvent(int64_t job_id);

  // Whether `role` (auth::RoleName) may cancel and retry: the shared role
  // policy's JobService mutation rule (server/auth/roles.h). HttpServer
  // checks it before calling Handle; this is the check for direct callers.
  static bool CanMutate(const std::string& role) {
    auth::Role r;
    return auth::ParseRole(role, &r) && auth::RoleAllows(r, auth::Access::kJobWrite);
  }

 private:
  ApiResponse ListSweeps();
  ApiResponse GetSweep(int64_t id);
  ApiResponse Results(int64_t sweep_id, const ApiRequest& request);
  ApiResponse Ablation(int64_t sweep_id, const ApiRequest& request);
  // What Results and Ablation start from: the figures the sweep's results
  // have, and its seed groups with the requested figure (`?metric=`, else
  // the default one), each with its published number when `published` and
  // the figure has one. An error response for an unknown sweep or figure,
  // else nullopt.
  std::optional<ApiResponse> SweepGroups(int64_t sweep_id, const ApiRequest& request,
                                         bool published, std::set<std::string>* figures,
                                         std::string* metric,
                                         std::vector<analysis::GroupFigure>* groups);
  ApiResponse CancelSweep(int64_t sweep_id, const ApiRequest& request);
  // json_api_cost.cc
  ApiResponse Cost(int64_t sweep_id);
  // json_api_jobs.cc
  ApiResponse ListJobs(int64_t sweep_id, const ApiRequest& request);
  ApiResponse GetJob(int64_t id);
  ApiResponse Metrics(int64_t id, const ApiRequest& request);
  ApiResponse Events(int64_t id);
  ApiResponse MutateJob(int64_t id, const std::string& action, const ApiRequest& request);
  ApiResponse Workers();

  Coordinator* const coordinator_;
  JobIndex index_;

  // Down-sampled curves of finished jobs (they no longer change), by
  // "job|name|attempt|max_points", with the job version they were made at.
  std::mutex series_mu_;
  std::unordered_map<std::string, std::pair<uint64_t, nlohmann::json>> series_cache_;  // guarded by series_mu_
  static constexpr size_t kSeriesCacheEntries = 512;
};

}  // namespace lcsweep
