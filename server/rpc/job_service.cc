// JobService handlers: check access, convert, call the Coordinator, convert.
#include <algorithm>
#include <deque>
#include <functional>
#include <memory>
#include <set>

#include "common/field_errors.h"
#include "proto/convert.h"
#include "server/rpc/convert.h"
#include "server/rpc/services.h"

namespace lcsweep::rpc {
namespace {

constexpr int kMaxPageSize = 1000;
// How often watch loops look at cancellation/shutdown when nothing changes.
constexpr std::chrono::milliseconds kWatchTick(500);
// Stored points per WatchResponse when a watch starts (~40 bytes each).
constexpr size_t kWatchMetricBatch = 10'000;
// SubmitSweep lists at most this many jobs (~200 bytes each): a 100,000-job
// sweep must answer a client with gRPC's default 4 MiB receive limit.
constexpr size_t kMaxSubmitReplyJobs = 2'000;

#define LCSWEEP_CHECK_ACCESS(context, access)                           \
  do {                                                                  \
    grpc::Status lcsweep_auth_ = CheckAccess(*env_, context, access);   \
    if (!lcsweep_auth_.ok()) return lcsweep_auth_;                      \
  } while (0)

v1::FieldError ToProto(const FieldError& e) {
  v1::FieldError out;
  out.set_path(e.path);
  out.set_found(e.found);
  out.set_expected(e.expected);
  out.set_hint(e.hint);
  out.set_message(e.ToString());
  return out;
}

bool IsFinal(JobState s) { return IsTerminal(s); }

}  // namespace

grpc::Status CheckAccess(const ServiceEnv& env, grpc::ServerContext* context, Access access) {
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
    // Every field error, structured, in the status details (the message
    // already lists them as text).
    v1::ErrorDetails details;
    for (const FieldError& e : field_errors) *details.add_field_errors() = ToProto(e);
    if (details.field_errors().empty()) details = FieldErrorsFromMessage(result.status().message());
    return ToGrpcStatus(result.status(), details.SerializeAsString());
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
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::ListSweeps(grpc::ServerContext* context,
                                        const v1::ListSweepsRequest* request,
                                        v1::ListSweepsResponse* response) {
  LCSWEEP_CHECK_ACCESS(context, Access::kJobRead);
  ListSweepsRequest req;
  req.page_size = request->page_size();
  req.page_token = request->page_token();
  req.tag = request->tag();
  StatusOr<ListSweepsResult> r = env_->coordinator->ListSweeps(req);
  if (!r.ok()) return ToGrpcStatus(r.status());
  for (const SweepSummary& s : r->sweeps) rpc::ToProto(s, response->add_sweeps());
  response->set_next_page_token(r->next_page_token);
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::ListJobs(grpc::ServerContext* context,
                                      const v1::ListJobsRequest* request,
                                      v1::ListJobsResponse* response) {
  LCSWEEP_CHECK_ACCESS(context, Access::kJobRead);
  ListJobsRequest req;
  if (request->sweep_id() != 0) req.sweep_id = request->sweep_id();
  for (int s : request->states()) {
    std::optional<JobState> state = FromProto(static_cast<v1::JobState>(s));
    if (!state) {
      return ToGrpcStatus(InvalidArgumentError(
          "states: unknown job state value " + std::to_string(s) +
          "; use QUEUED, RUNNING, SUCCEEDED, FAILED or CANCELLED"));
    }
    req.states.push_back(*state);
  }
  req.worker_id = request->worker_id();
  req.page_size = request->page_size();
  req.page_token = request->page_token();
  StatusOr<ListJobsResult> r = env_->coordinator->ListJobs(req);
  if (!r.ok()) return ToGrpcStatus(r.status());
  for (const JobRecord& j : r->jobs) rpc::ToProto(j, response->add_jobs());
  response->set_next_page_token(r->next_page_token);
  response->set_total(r->total);
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::GetJob(grpc::ServerContext* context,
                                    const v1::GetJobRequest* request,
                                    v1::GetJobResponse* response) {
  LCSWEEP_CHECK_ACCESS(context, Access::kJobRead);
  StatusOr<JobRecord> j = env_->coordinator->GetJob(request->job_id());
  if (!j.ok()) return ToGrpcStatus(j.status());
  rpc::ToProto(*j, response->mutable_job());
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

namespace {

// Collects the coordinator's change notices for one watch stream. The
// listener only copies matching notices into a queue (it must stay quick);
// the stream's thread drains the queue and writes.
class NoticeQueue {
 public:
  NoticeQueue(Coordinator* coordinator, std::function<bool(const ChangeNotice&)> filter)
      : coordinator_(coordinator), filter_(std::move(filter)) {
    id_ = coordinator_->AddListener([this](const ChangeNotice& n) {
      if (!filter_(n)) return;
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(n);
      cv_.notify_one();
    });
  }
  ~NoticeQueue() { coordinator_->RemoveListener(id_); }

  // Waits up to `timeout` for notices and takes all of them.
  std::deque<ChangeNotice> Take(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return !queue_.empty(); });
    std::deque<ChangeNotice> out;
    out.swap(queue_);
    return out;
  }

 private:
  Coordinator* coordinator_;
  std::function<bool(const ChangeNotice&)> filter_;
  int id_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<ChangeNotice> queue_;
};

// Writes one notice to a watch stream; false when the client is gone.
bool WriteNotice(const ChangeNotice& n, bool events, bool metrics,
                 grpc::ServerWriter<v1::WatchResponse>* writer) {
  v1::WatchResponse msg;
  switch (n.kind) {
    case ChangeNotice::Kind::kJob:
      if (!n.job) return true;
      rpc::ToProto(*n.job, msg.mutable_job());
      break;
    case ChangeNotice::Kind::kEvent:
      if (!events || !n.event) return true;
      rpc::ToProto(*n.event, msg.mutable_event());
      break;
    case ChangeNotice::Kind::kMetrics:
      if (!metrics || n.points.empty()) return true;
      msg.mutable_metrics()->set_job_id(n.id);
      for (const MetricPoint& p : n.points) rpc::ToProto(p, msg.mutable_metrics()->add_points());
      break;
    default:
      return true;
  }
  return writer->Write(msg);
}

}  // namespace

grpc::Status JobServiceImpl::WatchJob(grpc::ServerContext* context,
                                      const v1::WatchJobRequest* request,
                                      grpc::ServerWriter<v1::WatchResponse>* writer) {
  LCSWEEP_CHECK_ACCESS(context, Access::kJobRead);
  Coordinator* coord = env_->coordinator;
  const int64_t id = request->job_id();
  // Listen first, then snapshot, so nothing between the two is missed (a
  // change may then be reported twice, which snapshots tolerate).
  NoticeQueue queue(coord, [id](const ChangeNotice& n) {
    return n.kind != ChangeNotice::Kind::kSweep && n.kind != ChangeNotice::Kind::kWorker &&
           n.id == id;
  });
  StatusOr<JobRecord> job = coord->GetJob(id);
  if (!job.ok()) return ToGrpcStatus(job.status());
  {
    v1::WatchResponse msg;
    rpc::ToProto(*job, msg.mutable_job());
    if (!writer->Write(msg)) return grpc::Status::OK;
  }
  if (request->include_events()) {
    ListEventsRequest er;
    er.job_id = id;
    er.limit = 5000;
    StatusOr<std::vector<Event>> events = coord->ListEvents(er);
    if (events.ok()) {
      for (const Event& e : *events) {
        v1::WatchResponse msg;
        rpc::ToProto(e, msg.mutable_event());
        if (!writer->Write(msg)) return grpc::Status::OK;
      }
    }
  }
  if (request->include_metrics()) {
    ListMetricsRequest mr;
    mr.job_id = id;
    StatusOr<std::vector<MetricPoint>> points = coord->ListMetrics(mr);
    if (points.ok()) {
      // In batches, so a long history stays under the message size limits.
      for (size_t i = 0; i < points->size(); i += kWatchMetricBatch) {
        v1::WatchResponse msg;
        msg.mutable_metrics()->set_job_id(id);
        for (size_t k = i; k < std::min(points->size(), i + kWatchMetricBatch); ++k) {
          rpc::ToProto((*points)[k], msg.mutable_metrics()->add_points());
        }
        if (!writer->Write(msg)) return grpc::Status::OK;
      }
    }
  }
  bool final = IsFinal(job->state);
  while (!final) {
    if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "client cancelled");
    if (env_->signal->shut_down()) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "coordinator shutting down");
    }
    for (const ChangeNotice& n : queue.Take(kWatchTick)) {
      if (!WriteNotice(n, request->include_events(), request->include_metrics(), writer)) {
        return grpc::Status::OK;
      }
      if (n.kind == ChangeNotice::Kind::kJob && n.job && IsFinal(n.job->state)) final = true;
    }
  }
  // Events of the final transition may arrive just after the job notice.
  for (const ChangeNotice& n : queue.Take(std::chrono::milliseconds(0))) {
    if (!WriteNotice(n, request->include_events(), request->include_metrics(), writer)) break;
  }
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::WatchSweep(grpc::ServerContext* context,
                                        const v1::WatchSweepRequest* request,
                                        grpc::ServerWriter<v1::WatchResponse>* writer) {
  LCSWEEP_CHECK_ACCESS(context, Access::kJobRead);
  Coordinator* coord = env_->coordinator;
  const int64_t sweep_id = request->sweep_id();
  // Job ids of the sweep; the listener reads it, so it is guarded.
  auto members = std::make_shared<std::pair<std::mutex, std::set<int64_t>>>();
  NoticeQueue queue(coord, [sweep_id, members](const ChangeNotice& n) {
    if (n.kind == ChangeNotice::Kind::kJob) {
      return n.job && std::find(n.job->sweep_ids.begin(), n.job->sweep_ids.end(), sweep_id) !=
                          n.job->sweep_ids.end();
    }
    if (n.kind == ChangeNotice::Kind::kEvent || n.kind == ChangeNotice::Kind::kMetrics) {
      std::lock_guard<std::mutex> lock(members->first);
      return members->second.count(n.id) > 0;
    }
    return n.kind == ChangeNotice::Kind::kSweep && n.id == sweep_id;
  });
  StatusOr<SweepSummary> sweep = coord->GetSweep(sweep_id);
  if (!sweep.ok()) return ToGrpcStatus(sweep.status());
  ListJobsRequest req;
  req.sweep_id = sweep_id;
  req.page_size = kMaxPageSize;
  while (true) {
    StatusOr<ListJobsResult> page = coord->ListJobs(req);
    if (!page.ok()) return ToGrpcStatus(page.status());
    {
      std::lock_guard<std::mutex> lock(members->first);
      for (const JobRecord& j : page->jobs) members->second.insert(j.id);
    }
    for (const JobRecord& j : page->jobs) {
      v1::WatchResponse msg;
      rpc::ToProto(j, msg.mutable_job());
      if (!writer->Write(msg)) return grpc::Status::OK;
    }
    if (page->next_page_token.empty()) break;
    req.page_token = page->next_page_token;
  }
  auto unfinished = [&]() {
    StatusOr<SweepSummary> s = coord->GetSweep(sweep_id);
    return s.ok() && s->counts[static_cast<int>(JobState::kQueued)] +
                             s->counts[static_cast<int>(JobState::kRunning)] > 0;
  };
  while (unfinished()) {
    if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "client cancelled");
    if (env_->signal->shut_down()) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "coordinator shutting down");
    }
    for (const ChangeNotice& n : queue.Take(kWatchTick)) {
      if (!WriteNotice(n, request->include_events(), request->include_metrics(), writer)) {
        return grpc::Status::OK;
      }
    }
  }
  for (const ChangeNotice& n : queue.Take(std::chrono::milliseconds(0))) {
    if (!WriteNotice(n, request->include_events(), request->include_metrics(), writer)) break;
  }
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::GetResults(grpc::ServerContext* context,
                                        const v1::GetResultsRequest* request,
                                        v1::GetResultsResponse* response) {
  LCSWEEP_CHECK_ACCESS(context, Access::kJobRead);
  StatusOr<ResultsSummary> r =
      request->sweep_id() != 0
          ? env_->coordinator->GetResults(request->sweep_id())
          : env_->coordinator->GetResultsForJobs(
                std::vector<int64_t>(request->job_ids().begin(), request->job_ids().end()));
  if (!r.ok()) return ToGrpcStatus(r.status());
  for (const ResultGroup& g : r->groups) rpc::ToProto(g, response->add_groups());
  response->set_pending_jobs(r->pending_jobs);
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
  for (const Event& e : *r) rpc::ToProto(e, response->add_events());
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::ListWorkers(grpc::ServerContext* context,
                                         const v1::ListWorkersRequest* request,
                                         v1::ListWorkersResponse* response) {
  LCSWEEP_CHECK_ACCESS(context, Access::kJobRead);
  const int64_t now = env_->clock->NowMs();
  const int64_t ttl = env_->coordinator->options().lease_ttl_ms;
  for (const WorkerRecord& w : env_->coordinator->ListWorkers(request->include_dead())) {
    rpc::ToProto(w, now, ttl, response->add_workers());
  }
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::GetMetrics(grpc::ServerContext* context,
                                        const v1::GetMetricsRequest* request,
                                        v1::GetMetricsResponse* response) {
  LCSWEEP_CHECK_ACCESS(context, Access::kJobRead);
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

}  // namespace lcsweep::rpc
