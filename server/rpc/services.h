// The gRPC services of lcsweep.v1 (JobService, WorkerService). Each handler
// checks the caller's token, converts the request, calls the Coordinator, and
// converts the answer back; the only logic here is transport-level: the
// calls that wait (LeaseJob's long poll, the Watch* streams) on gRPC's
// callback API so that a waiting call holds no thread (long_polls.h), the
// rest on the synchronous API; pagination of ListSweeps; and moving
// checkpoint and model bytes between the stream and the artifact directory
// (CheckpointFiles).
//
// Ownership: services borrow everything in ServiceEnv; it must outlive the
// grpc::Server they are registered with.
// Thread-safety: handlers run concurrently on gRPC's threads; the
// Coordinator is thread-safe and ServiceEnv is read-only after construction.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include <grpcpp/grpcpp.h>

#include "lcsweep/v1/coordinator.grpc.pb.h"
#include "server/core/clock.h"
#include "server/core/coordinator.h"
#include "server/rpc/auth.h"
#include "server/rpc/checkpoint_files.h"

namespace lcsweep::rpc {

class FeedWaiters;

struct ServiceEnv {
  Coordinator* coordinator = nullptr;
  Clock* clock = nullptr;
  const TokenTable* tokens = nullptr;  // null = authentication off
  CheckpointFiles* checkpoints = nullptr;
  // Set (and the coordinator's feed woken) when the server stops: long polls
  // and watch streams end at once.
  const std::atomic<bool>* stopping = nullptr;
  // Where waiting calls park (long_polls.h); stopped before the server.
  FeedWaiters* waiters = nullptr;
  int64_t max_checkpoint_bytes = int64_t{8} << 30;  // declared sizes above: INVALID_ARGUMENT
  int max_lease_wait_seconds = 60;
  // Fault injection for tests (null in production): called by the handlers
  // that change state, after the Coordinator committed the change and before
  // the reply is sent, with the method name ("SubmitSweep", "ReportMetrics",
  // "CompleteJob", ...). A hook that sleeps past the client's deadline makes
  // "committed, reply lost"; one that calls _exit makes a crash point.
  std::function<void(const char* method)> after_commit;
};

// Calls env.after_commit(method) when set.
inline void AfterCommit(const ServiceEnv& env, const char* method) {
  if (env.after_commit) env.after_commit(method);
}

// Returns OK or UNAUTHENTICATED / PERMISSION_DENIED for the call.
grpc::Status CheckAccess(const ServiceEnv& env, grpc::ServerContextBase* context, Access access);

class JobServiceImpl final
    : public v1::JobService::WithCallbackMethod_WatchJob<
          v1::JobService::WithCallbackMethod_WatchSweep<v1::JobService::Service>> {
 public:
  explicit JobServiceImpl(const ServiceEnv* env) : env_(env) {}

  grpc::Status SubmitSweep(grpc::ServerContext*, const v1::SubmitSweepRequest*,
                           v1::SubmitSweepResponse*) override;
  grpc::Status GetSweep(grpc::ServerContext*, const v1::GetSweepRequest*,
                        v1::GetSweepResponse*) override;
  grpc::Status ListSweeps(grpc::ServerContext*, const v1::ListSweepsRequest*,
                          v1::ListSweepsResponse*) override;
  grpc::Status ListJobs(grpc::ServerContext*, const v1::ListJobsRequest*,
                        v1::ListJobsResponse*) override;
  grpc::Status GetJob(grpc::ServerContext*, const v1::GetJobRequest*,
                      v1::GetJobResponse*) override;
  grpc::Status CancelJob(grpc::ServerContext*, const v1::CancelJobRequest*,
                         v1::CancelJobResponse*) override;
  grpc::Status CancelSweep(grpc::ServerContext*, const v1::CancelSweepRequest*,
                           v1::CancelSweepResponse*) override;
  grpc::Status RetryJob(grpc::ServerContext*, const v1::RetryJobRequest*,
                        v1::RetryJobResponse*) override;
  grpc::ServerWriteReactor<v1::WatchResponse>* WatchJob(grpc::CallbackServerContext*,
                                                        const v1::WatchJobRequest*) override;
  grpc::ServerWriteReactor<v1::WatchResponse>* WatchSweep(grpc::CallbackServerContext*,
                                                          const v1::WatchSweepRequest*) override;
  grpc::Status GetResults(grpc::ServerContext*, const v1::GetResultsRequest*,
                          v1::GetResultsResponse*) override;
  grpc::Status ListEvents(grpc::ServerContext*, const v1::ListEventsRequest*,
                          v1::ListEventsResponse*) override;
  grpc::Status ListWorkers(grpc::ServerContext*, const v1::ListWorkersRequest*,
                           v1::ListWorkersResponse*) override;
  grpc::Status GetMetrics(grpc::ServerContext*, const v1::GetMetricsRequest*,
                          v1::GetMetricsResponse*) override;
  grpc::Status ListUsage(grpc::ServerContext*, const v1::ListUsageRequest*,
                         v1::ListUsageResponse*) override;
  grpc::Status GetModel(grpc::ServerContext*, const v1::GetModelRequest*,
                        grpc::ServerWriter<v1::GetModelResponse>*) override;

 private:
  const ServiceEnv* env_;
};

class WorkerServiceImpl final
    : public v1::WorkerService::WithCallbackMethod_LeaseJob<v1::WorkerService::Service> {
 public:
  explicit WorkerServiceImpl(const ServiceEnv* env) : env_(env) {}

  grpc::Status RegisterWorker(grpc::ServerContext*, const v1::RegisterWorkerRequest*,
                              v1::RegisterWorkerResponse*) override;
  grpc::ServerUnaryReactor* LeaseJob(grpc::CallbackServerContext*, const v1::LeaseJobRequest*,
                                     v1::LeaseJobResponse*) override;
  grpc::Status Heartbeat(grpc::ServerContext*, const v1::HeartbeatRequest*,
                         v1::HeartbeatResponse*) override;
  grpc::Status ReportMetrics(grpc::ServerContext*, const v1::ReportMetricsRequest*,
                             v1::ReportMetricsResponse*) override;
  grpc::Status UploadCheckpoint(grpc::ServerContext*,
                                grpc::ServerReader<v1::UploadCheckpointRequest>*,
                                v1::UploadCheckpointResponse*) override;
  grpc::Status DownloadCheckpoint(grpc::ServerContext*, const v1::DownloadCheckpointRequest*,
                                  grpc::ServerWriter<v1::DownloadCheckpointResponse>*) override;
  grpc::Status UploadModel(grpc::ServerContext*, grpc::ServerReader<v1::UploadCheckpointRequest>*,
                           v1::UploadModelResponse*) override;
  grpc::Status CompleteJob(grpc::ServerContext*, const v1::CompleteJobRequest*,
                           v1::CompleteJobResponse*) override;
  grpc::Status FailJob(grpc::ServerContext*, const v1::FailJobRequest*,
                       v1::FailJobResponse*) override;
  grpc::Status ReleaseJob(grpc::ServerContext*, const v1::ReleaseJobRequest*,
                          v1::ReleaseJobResponse*) override;

 private:
  const ServiceEnv* env_;
};

}  // namespace lcsweep::rpc
