// JobService handlers: check access, convert, call the Coordinator, convert.
// Long because JobService has sixteen RPCs and each handler, though short,
// lives here beside the shared access, paging and watch helpers.
#include <algorithm>
#include <deque>
#include <functional>
#include <memory>
#include <set>

#include "common/field_errors.h"
#include "common/limits.h"
#include "proto/convert.h"
#include "server/rpc/artifact_stream.h"
#include "server/rpc/convert.h"
#include "server/rpc/error_details.h"
#include "server/rpc/reply_budget.h"
#include "server/rpc/request_checks.h"
#include "server/rpc/long_polls.h"
#include "server/rpc/services.h"
#include "server/rpc/watch_session.h"

namespace lcsweep::rpc {
namespace {

constexpr int kMaxPageSize = 1000;
// SubmitSweep lists at most this many jobs (~200 bytes each): a 100,000-job
// sweep must answer a client with gRPC's default 4 MiB receive limit.
constexpr size_t kMaxSubmitReplyJobs = 2'000;

#define LCSWEEP_CHECK_ACCESS(context, access)                           \
  do {                                                                  \
    grpc::Status lcsweep_auth_ = CheckAccess(*env_, context, access);   \
    if (!lcsweep_auth_.ok()) return lcsweep_auth_;                      \
  } while (0)

#define LCSWEEP_CHECK_REQUEST(request)                               \
  do {                                                               \
    ::lcsweep::Status lcsweep_check_ = CheckRequest(request);        \
    if (!lcsweep_check_.ok()) return ToGrpcStatus(lcsweep_check_);   \
  } while (0)

// A job as sent in any reply: shrunk if it alone would pass the budget.
void SendJob(const JobRecord& j, v1::Job* out) {
  rpc::ToProto(j, out);
  FitJob(out);
}

}  // namespace

grpc::Status CheckAccess(const ServiceEnv& env, grpc::ServerContextBase* context, Access access) {
  if (env.tokens == nullptr) return grpc::Status::OK;
  std::string_view authorization;
  const auto& md = context->client_metadata();
  auto it = md.find("authorization");
  if (it != md.end()) authorization = std::string_view(it->second.data(), it->second.size());
  StatusOr<Principal> p = env.tokens->Authorize(authorization, access);
  return ToGrpcStatus(p.status());
}

grpc::Status JobServiceImpl::SubmitSweep(grpc::ServerContext* context,
                                         const v1::SubmitSweepRequest* request,
                                         v1::SubmitSweepResponse* response) {
  // A dry run changes nothing, so read access is enough for it.
  LCSWEEP_CHECK_ACCESS(context, request->dry_run() ? Access::kJobRead : Access::kJobWrite);
  LCSWEEP_CHECK_REQUEST(*request);
  SubmitSweepRequest req;
  req.spec_json = request->spec_json();
  req.force = request->force();
  req.dry_run = request->dry_run();
  if (request->has_priority()) req.priority = request->priority();
  req.request_id = request->request_id();
  std::vector<FieldError> field_errors;
  StatusOr<SubmitSweepResult> result = env_->coordinator->SubmitSweep(req, &field_errors);
  if (!result.ok()) {
    if (result.status().code() != StatusCode::kInvalidArgument) {
      return ToGrpcStatus(result.status());
    }
    // The field errors, structured in the status details and as text in the
    // message, both bounded (they travel in trailers).
    if (!field_errors.empty()) return FieldErrorsStatus("invalid sweep spec:", field_errors);
    grpc::Status g = ToGrpcStatus(result.status());
    v1::ErrorDetails details = FieldErrorsFromMessage(g.error_message());
    BoundErrorDetails(&details);
    return grpc::Status(g.error_code(), g.error_message(), details.SerializeAsString());
  }
  if (!result->dry_run) AfterCommit(*env_, "SubmitSweep");
  response->set_sweep_id(result->sweep_id);
  response->set_created(result->jobs_created);
  response->set_reused(result->jobs_reused);
  response->set_dry_run(result->dry_run);
  response->set_replayed(result->replayed);
  const size_t listed = std::min(result->jobs.size(), kMaxSubmitReplyJobs);
  response->set_jobs_omitted(static_cast<int64_t>(result->jobs.size() - listed));
  for (size_t i = 0; i < listed; ++i) {
    const SubmittedJob& job = result->jobs[i];
    v1::SubmittedJob* out = response->add_jobs();
    out->set_job_id(job.job_id);
    out->set_config_hash(job.hash);
    out->set_outcome(rpc::ToProto(job.outcome));
    out->set_state(rpc::ToProto(job.state));
    out->set_result_json(job.result_json);
    out->set_config_json(job.config_json);
    if (!job.config_json.empty()) *out->mutable_summary() = SummaryFromConfigJson(job.config_json);
  }
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::GetSweep(grpc::ServerContext* context,
                                      const v1::GetSweepRequest* request,
                                      v1::GetSweepResponse* response) {
  LCSWEEP_CHECK_ACCESS(context, Access::kJobRead);
  StatusOr<SweepSummary> s = env_->coordinator->GetSweep(request->sweep_id());
  if (!s.ok()) return ToGrpcStatus(s.status());
  rpc::ToProto(*s, response->mutable_sweep());
  FitSweep(response->mutable_sweep());
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::ListSweeps(grpc::ServerContext* context,
                                        const v1::ListSweepsRequest* request,
                                        v1::ListSweepsResponse* response) {
  LCSWEEP_CHECK_ACCESS(context, Access::kJobRead);
  LCSWEEP_CHECK_REQUEST(*request);
  ListSweepsRequest req;
  req.page_size = request->page_size();
  req.page_token = request->page_token();
  req.tag = request->tag();
  StatusOr<ListSweepsResult> r = env_->coordinator->ListSweeps(req);
  if (!r.ok()) return ToGrpcStatus(r.status());
  response->set_next_page_token(r->next_page_token);
  PageBudget budget;
  for (const SweepSummary& s : r->sweeps) {
    v1::Sweep out;
    rpc::ToProto(s, &out);
    FitSweep(&out);
    if (!budget.Admit(EncodedItemSize(out))) break;
    *response->add_sweeps() = std::move(out);
  }
  if (budget.cut()) {
    response->set_next_page_token(std::to_string(response->sweeps().rbegin()->id()));
  }
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::ListJobs(grpc::ServerContext* context,
                                      const v1::ListJobsRequest* request,
                                      v1::ListJobsResponse* response) {
  LCSWEEP_CHECK_ACCESS(context, Access::kJobRead);
  LCSWEEP_CHECK_REQUEST(*request);
  ListJobsRequest req;
  if (request->sweep_id() != 0) req.sweep_id = request->sweep_id();
  // UNSPECIFIED in a filter means "any state" (spec.proto), so it widens the
  // filter to everything.
  const bool any_state =
      std::find(request->states().begin(), request->states().end(), v1::JOB_STATE_UNSPECIFIED) !=
      request->states().end();
  for (int s : request->states()) {
    if (s == v1::JOB_STATE_UNSPECIFIED) continue;
    std::optional<JobState> state = FromProto(static_cast<v1::JobState>(s));
    if (!state) {
      return ToGrpcStatus(InvalidArgumentError(
          "states: unknown job state value " + std::to_string(s) +
          "; use QUEUED, RUNNING, SUCCEEDED, FAILED or CANCELLED"));
    }
    req.states.push_back(*state);
  }
  if (any_state) req.states.clear();
  req.worker_id = request->worker_id();
  req.page_size = request->page_size();
  req.page_token = request->page_token();
  StatusOr<ListJobsResult> r = env_->coordinator->ListJobs(req);
  if (!r.ok()) return ToGrpcStatus(r.status());
  response->set_next_page_token(r->next_page_token);
  response->set_total(r->total);
  PageBudget budget;
  for (const JobRecord& j : r->jobs) {
    v1::Job out;
    SendJob(j, &out);
    if (!budget.Admit(EncodedItemSize(out))) break;
    *response->add_jobs() = std::move(out);
  }
  if (budget.cut()) response->set_next_page_token(std::to_string(response->jobs().rbegin()->id()));
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::GetJob(grpc::ServerContext* context,
                                    const v1::GetJobRequest* request,
                                    v1::GetJobResponse* response) {
  LCSWEEP_CHECK_ACCESS(context, Access::kJobRead);
  StatusOr<JobRecord> j = env_->coordinator->GetJob(request->job_id());
  if (!j.ok()) return ToGrpcStatus(j.status());
  SendJob(*j, response->mutable_job());
  response->mutable_job()->set_max_losses(env_->coordinator->options().max_lost_leases);
  StatusOr<std::optional<CheckpointMeta>> ck =
      env_->coordinator->LatestCheckpointOfJob(request->job_id());
  if (ck.ok() && ck->has_value()) rpc::ToProto(**ck, response->mutable_latest_checkpoint());
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::CancelJob(grpc::ServerContext* context,
                                       const v1::CancelJobRequest* request,
                                       v1::CancelJobResponse* response) {
  LCSWEEP_CHECK_ACCESS(context, Access::kJobWrite);
  LCSWEEP_CHECK_REQUEST(*request);
  std::string reason = request->reason().empty() ? "cancelled by user" : request->reason();
  StatusOr<JobRecord> j = env_->coordinator->CancelJob(request->job_id(), reason);
  if (!j.ok()) return ToGrpcStatus(j.status());
  rpc::ToProto(*j, response->mutable_job());
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::CancelSweep(grpc::ServerContext* context,
                                         const v1::CancelSweepRequest* request,
                                         v1::CancelSweepResponse* response) {
  LCSWEEP_CHECK_ACCESS(context, Access::kJobWrite);
  LCSWEEP_CHECK_REQUEST(*request);
  std::string reason = request->reason().empty() ? "sweep cancelled by user" : request->reason();
  StatusOr<CancelSweepResult> r = env_->coordinator->CancelSweep(request->sweep_id(), reason);
  if (!r.ok()) return ToGrpcStatus(r.status());
  response->set_cancelled(r->cancelled);
  response->set_cancel_requested(r->cancel_requested);
  response->set_skipped_shared(r->skipped_shared);
  response->set_already_finished(r->already_finished);
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::RetryJob(grpc::ServerContext* context,
                                      const v1::RetryJobRequest* request,
                                      v1::RetryJobResponse* response) {
  LCSWEEP_CHECK_ACCESS(context, Access::kJobWrite);
  StatusOr<JobRecord> j = env_->coordinator->RetryJob(request->job_id());
  if (!j.ok()) return ToGrpcStatus(j.status());
  rpc::ToProto(*j, response->mutable_job());
  return grpc::Status::OK;
}

grpc::ServerWriteReactor<v1::WatchResponse>* JobServiceImpl::WatchJob(
    grpc::CallbackServerContext* context, const v1::WatchJobRequest* request) {
  grpc::Status access = CheckAccess(*env_, context, Access::kJobRead);
  if (!access.ok()) return RefusedWatch(access);
  StatusOr<std::unique_ptr<WatchSession>> session =
      WatchSession::ForJob(env_->coordinator, *request);
  if (!session.ok()) return RefusedWatch(ToGrpcStatus(session.status()));
  return StartWatch(env_, context, std::move(session).value());
}

grpc::ServerWriteReactor<v1::WatchResponse>* JobServiceImpl::WatchSweep(
    grpc::CallbackServerContext* context, const v1::WatchSweepRequest* request) {
  grpc::Status access = CheckAccess(*env_, context, Access::kJobRead);
  if (!access.ok()) return RefusedWatch(access);
  StatusOr<std::unique_ptr<WatchSession>> session =
      WatchSession::ForSweep(env_->coordinator, *request);
  if (!session.ok()) return RefusedWatch(ToGrpcStatus(session.status()));
  return StartWatch(env_, context, std::move(session).value());
}

grpc::Status JobServiceImpl::GetResults(grpc::ServerContext* context,
                                        const v1::GetResultsRequest* request,
                                        v1::GetResultsResponse* response) {
  LCSWEEP_CHECK_ACCESS(context, Access::kJobRead);
  LCSWEEP_CHECK_REQUEST(*request);
  StatusOr<int64_t> after = ParseIdPageToken(request->page_token());
  if (!after.ok()) return ToGrpcStatus(after.status());
  StatusOr<ResultsSummary> r =
      request->sweep_id() != 0
          ? env_->coordinator->GetResults(request->sweep_id())
          : env_->coordinator->GetResultsForJobs(
                std::vector<int64_t>(request->job_ids().begin(), request->job_ids().end()));
  if (!r.ok()) return ToGrpcStatus(r.status());
  response->set_pending_jobs(r->pending_jobs);
  // Pages are "groups whose first job id is above the token", so walk them
  // in that order whatever order aggregation produced.
  auto first_id_of = [](const ResultGroup& g) {
    return g.job_ids.empty() ? int64_t{0} : *std::min_element(g.job_ids.begin(), g.job_ids.end());
  };
  std::vector<const ResultGroup*> groups;
  for (const ResultGroup& g : r->groups) groups.push_back(&g);
  std::stable_sort(groups.begin(), groups.end(), [&](const ResultGroup* a, const ResultGroup* b) {
    return first_id_of(*a) < first_id_of(*b);
  });
  PageBudget budget;
  int64_t last_first_id = 0;
  for (const ResultGroup* gp : groups) {
    const ResultGroup& g = *gp;
    const int64_t first_id = first_id_of(g);
    if (first_id <= *after) continue;
    v1::ResultGroup out;
    rpc::ToProto(g, &out);
    FitGroup(&out);
    if (!budget.Admit(EncodedItemSize(out))) break;
    *response->add_groups() = std::move(out);
    last_first_id = first_id;
  }
  if (budget.cut()) response->set_next_page_token(std::to_string(last_first_id));
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::ListEvents(grpc::ServerContext* context,
                                        const v1::ListEventsRequest* request,
                                        v1::ListEventsResponse* response) {
  LCSWEEP_CHECK_ACCESS(context, Access::kJobRead);
  ListEventsRequest req;
  req.after_id = request->after_id();
  req.sweep_id = request->sweep_id();
  req.job_id = request->job_id();
  req.limit = request->limit();
  StatusOr<std::vector<Event>> r = env_->coordinator->ListEvents(req);
  if (!r.ok()) return ToGrpcStatus(r.status());
  PageBudget budget;
  for (const Event& e : *r) {
    v1::Event out;
    rpc::ToProto(e, &out);
    if (!budget.Admit(EncodedItemSize(out))) break;
    *response->add_events() = std::move(out);
  }
  if (budget.cut()) response->set_next_page_token(std::to_string(response->events().rbegin()->id()));
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::ListUsage(grpc::ServerContext* context,
                                       const v1::ListUsageRequest* request,
                                       v1::ListUsageResponse* response) {
  LCSWEEP_CHECK_ACCESS(context, Access::kJobRead);
  LCSWEEP_CHECK_REQUEST(*request);
  ListUsageRequest req;
  req.sweep_id = request->sweep_id();
  req.job_id = request->job_id();
  req.limit = request->limit();
  if (!request->page_token().empty()) {
    // "JOB:LEASE", as written below.
    const std::string& t = request->page_token();
    const size_t colon = t.find(':');
    StatusOr<int64_t> job = ParseIdPageToken(t.substr(0, colon));
    StatusOr<int64_t> lease = colon == std::string::npos
                                  ? StatusOr<int64_t>(InvalidArgumentError("no lease"))
                                  : ParseIdPageToken(t.substr(colon + 1));
    if (!job.ok() || !lease.ok())
      return ToGrpcStatus(InvalidArgumentError(
          "page_token: expected the next_page_token of the previous page (\"JOB:LEASE\")"));
    req.after_job_id = *job;
    req.after_lease = *lease;
  }
  StatusOr<std::vector<AttemptUsage>> r = env_->coordinator->ListUsage(req);
  if (!r.ok()) return ToGrpcStatus(r.status());
  PageBudget budget;
  for (const AttemptUsage& a : *r) {
    v1::AttemptUsage out;
    rpc::ToProto(a, &out);
    if (!budget.Admit(EncodedItemSize(out))) break;
    *response->add_attempts() = std::move(out);
  }
  // A full page may have more behind it; a cut one certainly has.
  const int limit = req.limit <= 0 ? Coordinator::kDefaultUsageLimit
                                    : std::min(req.limit, Coordinator::kMaxUsageLimit);
  if (!response->attempts().empty() &&
      (budget.cut() || response->attempts_size() >= limit)) {
    const v1::AttemptUsage& last = *response->attempts().rbegin();
    response->set_next_page_token(std::to_string(last.job_id()) + ":" +
                                  std::to_string(last.lease()));
  }
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::ListWorkers(grpc::ServerContext* context,
                                         const v1::ListWorkersRequest* request,
                                         v1::ListWorkersResponse* response) {
  LCSWEEP_CHECK_ACCESS(context, Access::kJobRead);
  LCSWEEP_CHECK_REQUEST(*request);
  StatusOr<int64_t> after = ParseIdPageToken(request->page_token());
  if (!after.ok()) return ToGrpcStatus(after.status());
  const int64_t now = env_->clock->NowMs();
  const int64_t ttl = env_->coordinator->options().lease_ttl_ms;
  PageBudget budget;
  for (const WorkerRecord& w : env_->coordinator->ListWorkers(request->include_dead())) {
    if (w.id <= *after) continue;
    v1::Worker out;
    rpc::ToProto(w, now, ttl, &out);
    if (!budget.Admit(EncodedItemSize(out))) break;
    *response->add_workers() = std::move(out);
  }
  if (budget.cut()) {
    response->set_next_page_token(std::to_string(response->workers().rbegin()->id()));
  }
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::GetMetrics(grpc::ServerContext* context,
                                        const v1::GetMetricsRequest* request,
                                        v1::GetMetricsResponse* response) {
  LCSWEEP_CHECK_ACCESS(context, Access::kJobRead);
  LCSWEEP_CHECK_REQUEST(*request);
  if (request->attempt() < 0) return ToGrpcStatus(InvalidArgumentError("attempt must be >= 0"));
  ListMetricsRequest req;
  req.job_id = request->job_id();
  req.names.assign(request->names().begin(), request->names().end());
  req.attempt = request->attempt();
  req.include_superseded = request->include_superseded();
  if (request->has_min_step()) req.min_step = request->min_step();
  if (request->has_max_step()) req.max_step = request->max_step();
  req.page_size = request->page_size();
  req.page_token = request->page_token();
  StatusOr<ListMetricsResult> page = env_->coordinator->ListMetricsPage(req);
  if (!page.ok()) return ToGrpcStatus(page.status());
  ToSeries(request->job_id(), page->points, response);
  response->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::GetModel(grpc::ServerContext* context, const v1::GetModelRequest* request,
                                      grpc::ServerWriter<v1::GetModelResponse>* writer) {
  LCSWEEP_CHECK_ACCESS(context, Access::kJobRead);
  StatusOr<ModelMeta> model = env_->coordinator->ModelOfJob(request->job_id());
  if (!model.ok()) return ToGrpcStatus(model.status());
  v1::GetModelResponse first;
  ToProto(*model, first.mutable_metadata());
  return ToGrpcStatus(SendFile(first, model->path, model->size_bytes, DownloadChunkBytes(request->chunk_bytes()),
                               writer, "the model of job " + std::to_string(model->job_id)));
}

}  // namespace lcsweep::rpc
