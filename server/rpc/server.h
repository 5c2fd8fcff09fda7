// RpcServer: the gRPC server of lcsweep-coordinator. Hosts JobService and
// WorkerService (services.h), the standard health service
// (grpc.health.v1.Health) and server reflection, with optional TLS (mutual
// with tls_client_ca_file), bearer
// token auth (auth.h), a message size limit, and the lease reaper thread.
//
// Lifecycle: Start() binds and serves (port 0 picks a free port: see
// port()); Shutdown() stops accepting, wakes long polls and watch streams,
// lets in-flight calls finish until the grace deadline (then cancels them),
// and stops the reaper. The Coordinator is borrowed and must outlive the
// server; destroy it (flushing its metric batcher) after Shutdown().
// Thread-safety: Shutdown may be called from any thread, once or more.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "common/metrics_registry.h"
#include "common/status.h"
#include "server/core/clock.h"
#include "server/core/coordinator.h"
#include "server/rpc/auth.h"
#include "server/rpc/checkpoint_files.h"
#include "server/rpc/services.h"

namespace lcsweep::rpc {

class FeedWaiters;

struct RpcServerOptions {
  std::string listen = "127.0.0.1:50051";  // HOST:PORT; port 0 = any free port
  std::string tls_cert_file;               // PEM; TLS when both are set
  std::string tls_key_file;
  // PEM CA(s): mutual TLS. Every gRPC client must then present a certificate
  // signed by one of them (workers and the CLI alike); needs TLS.
  std::string tls_client_ca_file;
  std::optional<TokenTable> tokens;        // nullopt = authentication off
  std::string artifacts_dir = "./lcsweep-artifacts";
  int max_message_bytes = 16 << 20;        // per message, both directions
  int64_t max_checkpoint_bytes = int64_t{8} << 30;
  int64_t reap_interval_ms = 1000;         // 0 = no reaper thread
  int max_lease_wait_seconds = 60;
  bool enable_reflection = true;
  std::function<void(const char* method)> after_commit;  // see ServiceEnv (tests only)
  // Borrowed; must outlive the server. Non-null: every call is counted and
  // timed (metrics_interceptor.h) and the reaper counts the leases it
  // expires (lcsweep_leases_expired_total). Null: no metrics.
  MetricsRegistry* metrics = nullptr;
};

class RpcServer {
 public:
  static StatusOr<std::unique_ptr<RpcServer>> Start(Coordinator* coordinator, Clock* clock,
                                                    RpcServerOptions options);
  ~RpcServer();  // Shutdown with no grace if still running

  // The bound port (useful with port 0) and "host:port" as bound.
  int port() const { return port_; }
  const std::string& address() const { return address_; }

  // Calls waiting without a thread (LeaseJob long polls, watch streams):
  // for tests and tests/bench/server/long_poll_bench.cc.
  size_t parked_calls() const;

  void Shutdown(std::chrono::milliseconds grace = std::chrono::seconds(10));
  // Blocks until Shutdown completes.
  void Wait();

 private:
  RpcServer() = default;
  void ReapLoop();

  RpcServerOptions options_;
  Coordinator* coordinator_ = nullptr;
  std::unique_ptr<CheckpointFiles> checkpoints_;
  std::atomic<bool> streams_stopping_{false};  // ServiceEnv::stopping
  // Before server_: parked calls Forget() themselves when gRPC ends them.
  std::unique_ptr<FeedWaiters> waiters_;
  ServiceEnv env_;
  std::unique_ptr<JobServiceImpl> job_service_;
  std::unique_ptr<WorkerServiceImpl> worker_service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::string address_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool stopped_ = false;
  std::thread reaper_;
  Counter* leases_expired_ = nullptr;  // null without options_.metrics
};

}  // namespace lcsweep::rpc
