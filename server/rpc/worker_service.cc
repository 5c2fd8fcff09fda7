// WorkerService handlers and the checkpoint streams (LeaseJob's long poll
// is in long_polls.cc).
#include <cctype>
#include <fstream>
#include <optional>
#include <vector>

#include "proto/convert.h"
#include "server/rpc/artifact_stream.h"
#include "server/rpc/convert.h"
#include "server/rpc/request_checks.h"
#include "server/rpc/long_polls.h"
#include "server/rpc/services.h"

namespace lcsweep::rpc {
namespace {

#define LCSWEEP_CHECK_WORKER(context)                                          \
  do {                                                                         \
    grpc::Status lcsweep_auth_ = CheckAccess(*env_, context, Access::kWorker); \
    if (!lcsweep_auth_.ok()) return lcsweep_auth_;                             \
  } while (0)

#define LCSWEEP_CHECK_REQUEST(request)                               \
  do {                                                               \
    ::lcsweep::Status lcsweep_check_ = CheckRequest(request);        \
    if (!lcsweep_check_.ok()) return ToGrpcStatus(lcsweep_check_);   \
  } while (0)

// The final calls' measurement of the attempt, when the worker sent one.
template <typename Request>
std::optional<ResourceUsage> UsageOf(const Request& request) {
  if (!request.has_usage()) return std::nullopt;
  return lcsweep::FromProto(request.usage());
}

// The start of an upload stream (UploadCheckpoint, UploadModel): the first
// message's metadata, checked, for a live lease (refused before any bytes are
// accepted), within the size limit. `rpc` and `what` name the call and the
// file in errors.
Status ReadUploadStart(const ServiceEnv& env,
                       grpc::ServerReader<v1::UploadCheckpointRequest>* reader, const char* rpc,
                       const char* what, v1::CheckpointUploadMetadata* meta, JobRecord* job) {
  v1::UploadCheckpointRequest msg;
  if (!reader->Read(&msg) || !msg.has_metadata()) {
    return InvalidArgumentError(std::string(rpc) +
                                ": the first message must carry metadata (lease_token, size_bytes, sha256)");
  }
  *meta = msg.metadata();
  LCSWEEP_RETURN_IF_ERROR(CheckRequest(*meta));
  LCSWEEP_ASSIGN_OR_RETURN(*job, env.coordinator->ValidateLease(meta->lease_token()));
  if (meta->size_bytes() > env.max_checkpoint_bytes) {
    return InvalidArgumentError(std::string(what) + " size_bytes=" + std::to_string(meta->size_bytes()) +
                                " exceeds the limit of " + std::to_string(env.max_checkpoint_bytes) +
                                " bytes");
  }
  return OkStatus();
}

// SHA-256 hex as the store keeps it: lower case.
std::string LowerHex(std::string hex) {
  for (char& c : hex) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return hex;
}

}  // namespace

grpc::Status WorkerServiceImpl::RegisterWorker(grpc::ServerContext* context,
                                               const v1::RegisterWorkerRequest* request,
                                               v1::RegisterWorkerResponse* response) {
  LCSWEEP_CHECK_WORKER(context);
  LCSWEEP_CHECK_REQUEST(*request);
  StatusOr<RegisterWorkerResult> r = env_->coordinator->RegisterWorker(FromProto(*request));
  if (!r.ok()) return ToGrpcStatus(r.status());
  response->set_worker_id(r->worker_id);
  response->set_lease_ttl_ms(r->lease_ttl_ms);
  response->set_heartbeat_interval_ms(r->heartbeat_interval_ms);
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* WorkerServiceImpl::LeaseJob(grpc::CallbackServerContext* context,
                                                     const v1::LeaseJobRequest* request,
                                                     v1::LeaseJobResponse* response) {
  grpc::Status refused = CheckAccess(*env_, context, Access::kWorker);
  if (refused.ok()) refused = ToGrpcStatus(CheckRequest(*request));
  if (!refused.ok()) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(refused);
    return reactor;
  }
  return StartLeasePoll(env_, context, request, response);
}

grpc::Status WorkerServiceImpl::Heartbeat(grpc::ServerContext* context,
                                          const v1::HeartbeatRequest* request,
                                          v1::HeartbeatResponse* response) {
  LCSWEEP_CHECK_WORKER(context);
  LCSWEEP_CHECK_REQUEST(*request);
  HeartbeatRequest req;
  req.token = request->lease_token();
  req.progress = FromProto(request->progress());
  if (request->has_usage()) req.usage = lcsweep::FromProto(request->usage());
  for (const v1::Device& d : request->devices()) req.devices.push_back(FromProto(d));
  StatusOr<HeartbeatResult> r = env_->coordinator->Heartbeat(req);
  if (!r.ok()) return ToGrpcStatus(r.status());
  AfterCommit(*env_, "Heartbeat");
  response->set_cancel_requested(r->cancel_requested);
  response->set_lease_expires_at_ms(r->expiry_ms);
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::ReportMetrics(grpc::ServerContext* context,
                                              const v1::ReportMetricsRequest* request,
                                              v1::ReportMetricsResponse* response) {
  LCSWEEP_CHECK_WORKER(context);
  LCSWEEP_CHECK_REQUEST(*request);  // metric names within kMaxMetricNameBytes
  std::vector<MetricPoint> points;
  points.reserve(request->points_size());
  for (const v1::MetricPoint& p : request->points()) {
    if (p.name().empty()) {
      return ToGrpcStatus(InvalidArgumentError(
          "points[" + std::to_string(points.size()) + "].name is empty; every point needs a name"));
    }
    points.push_back(FromProto(p, /*job_id=*/0));  // job and attempt come from the lease
  }
  const int64_t n = static_cast<int64_t>(points.size());
  Status st =
      env_->coordinator->ReportMetrics(request->lease_token(), std::move(points), request->seq());
  if (!st.ok()) return ToGrpcStatus(st);
  AfterCommit(*env_, "ReportMetrics");
  response->set_accepted(n);
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::UploadCheckpoint(
    grpc::ServerContext* context, grpc::ServerReader<v1::UploadCheckpointRequest>* reader,
    v1::UploadCheckpointResponse* response) {
  LCSWEEP_CHECK_WORKER(context);
  v1::CheckpointUploadMetadata meta;
  JobRecord job;
  Status start = ReadUploadStart(*env_, reader, "UploadCheckpoint", "checkpoint", &meta, &job);
  if (!start.ok()) return ToGrpcStatus(start);
  StatusOr<std::unique_ptr<CheckpointFiles::Upload>> upload = env_->checkpoints->BeginUpload(
      job.id, meta.epoch(), meta.step(), meta.size_bytes(), meta.sha256());
  if (!upload.ok()) return ToGrpcStatus(upload.status());
  Status received = ReceiveChunks(context, reader, upload->get(), "UploadCheckpoint");
  if (!received.ok()) return ToGrpcStatus(received);
  StatusOr<std::string> path = (*upload)->Commit();
  if (!path.ok()) return ToGrpcStatus(path.status());
  CheckpointMeta cm;
  cm.epoch = meta.epoch();
  cm.step = meta.step();
  cm.size_bytes = meta.size_bytes();
  cm.sha256 = LowerHex(meta.sha256());
  cm.path = *path;
  StatusOr<RecordCheckpointResult> rec =
      env_->coordinator->RecordCheckpoint(meta.lease_token(), cm);
  if (!rec.ok()) {
    env_->checkpoints->Remove(*path);  // not recorded: the file must not linger
    return ToGrpcStatus(rec.status());
  }
  for (const CheckpointMeta& old : rec->pruned) env_->checkpoints->Remove(old.path);
  AfterCommit(*env_, "UploadCheckpoint");
  ToProto(rec->recorded, response->mutable_checkpoint());
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::DownloadCheckpoint(
    grpc::ServerContext* context, const v1::DownloadCheckpointRequest* request,
    grpc::ServerWriter<v1::DownloadCheckpointResponse>* writer) {
  LCSWEEP_CHECK_WORKER(context);
  LCSWEEP_CHECK_REQUEST(*request);
  StatusOr<std::optional<CheckpointMeta>> latest =
      env_->coordinator->LatestCheckpoint(request->lease_token());
  if (!latest.ok()) return ToGrpcStatus(latest.status());
  if (!latest->has_value()) {
    return ToGrpcStatus(NotFoundError("the leased job has no checkpoint; start fresh"));
  }
  const CheckpointMeta& meta = **latest;
  v1::DownloadCheckpointResponse first;
  ToProto(meta, first.mutable_metadata());
  return ToGrpcStatus(SendFile(first, meta.path, meta.size_bytes, DownloadChunkBytes(request->chunk_bytes()),
                               writer,
                               "checkpoint " + std::to_string(meta.id) + " of job " + std::to_string(meta.job_id)));
}

grpc::Status WorkerServiceImpl::UploadModel(grpc::ServerContext* context,
                                            grpc::ServerReader<v1::UploadCheckpointRequest>* reader,
                                            v1::UploadModelResponse* response) {
  LCSWEEP_CHECK_WORKER(context);
  v1::CheckpointUploadMetadata meta;
  JobRecord job;
  Status start = ReadUploadStart(*env_, reader, "UploadModel", "model", &meta, &job);
  if (!start.ok()) return ToGrpcStatus(start);
  StatusOr<std::unique_ptr<CheckpointFiles::Upload>> upload =
      env_->checkpoints->BeginModelUpload(job.id, meta.size_bytes(), meta.sha256());
  if (!upload.ok()) return ToGrpcStatus(upload.status());
  Status received = ReceiveChunks(context, reader, upload->get(), "UploadModel");
  if (!received.ok()) return ToGrpcStatus(received);
  StatusOr<std::string> path = (*upload)->Commit();
  if (!path.ok()) return ToGrpcStatus(path.status());
  ModelMeta mm;
  mm.size_bytes = meta.size_bytes();
  mm.sha256 = LowerHex(meta.sha256());
  mm.path = *path;
  StatusOr<RecordModelResult> rec = env_->coordinator->RecordModel(meta.lease_token(), mm);
  if (!rec.ok()) {
    env_->checkpoints->Remove(*path);  // not recorded: the file must not linger
    return ToGrpcStatus(rec.status());
  }
  for (const std::string& old : rec->remove) env_->checkpoints->Remove(old);
  if (!rec->duplicate) AfterCommit(*env_, "UploadModel");
  ToProto(rec->recorded, response->mutable_model());
  response->set_duplicate(rec->duplicate);
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::CompleteJob(grpc::ServerContext* context,
                                            const v1::CompleteJobRequest* request,
                                            v1::CompleteJobResponse*) {
  LCSWEEP_CHECK_WORKER(context);
  LCSWEEP_CHECK_REQUEST(*request);
  const Status st = env_->coordinator->CompleteJob(request->lease_token(), request->result_json(),
                                                   UsageOf(*request));
  if (st.ok()) AfterCommit(*env_, "CompleteJob");
  return ToGrpcStatus(st);
}

grpc::Status WorkerServiceImpl::FailJob(grpc::ServerContext* context,
                                        const v1::FailJobRequest* request,
                                        v1::FailJobResponse* response) {
  LCSWEEP_CHECK_WORKER(context);
  LCSWEEP_CHECK_REQUEST(*request);
  StatusOr<JobRecord> j = env_->coordinator->FailJob(request->lease_token(), request->error(),
                                                     request->retryable(), UsageOf(*request));
  if (!j.ok()) return ToGrpcStatus(j.status());
  AfterCommit(*env_, "FailJob");
  ToProto(*j, response->mutable_job());
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::ReleaseJob(grpc::ServerContext* context,
                                           const v1::ReleaseJobRequest* request,
                                           v1::ReleaseJobResponse*) {
  LCSWEEP_CHECK_WORKER(context);
  LCSWEEP_CHECK_REQUEST(*request);
  std::string reason = request->reason().empty() ? "released by worker" : request->reason();
  ReleaseKind kind = ReleaseKind::kDrain;
  if (request->reason_code() == v1::RELEASE_REASON_OUT_OF_MEMORY) kind = ReleaseKind::kOutOfMemory;
  if (request->reason_code() == v1::RELEASE_REASON_DOES_NOT_FIT) kind = ReleaseKind::kDoesNotFit;
  if (!(request->memory_estimate_gb() >= 0) || request->memory_estimate_gb() > 1e6)
    return ToGrpcStatus(InvalidArgumentError("memory_estimate_gb must be in [0, 1e6] GB"));
  return ToGrpcStatus(
      env_->coordinator->ReleaseJob(request->lease_token(), reason, kind,
                                    request->memory_estimate_gb(), UsageOf(*request)));
}

}  // namespace lcsweep::rpc
