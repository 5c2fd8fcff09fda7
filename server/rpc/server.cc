#include "server/rpc/server.h"

#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include "common/logging.h"
#include "server/rpc/feed_waiters.h"
#include "server/rpc/metrics_interceptor.h"
#include "server/rpc/parse_error_interceptor.h"

namespace lcsweep::rpc {
namespace {

StatusOr<std::string> ReadFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError(std::string("cannot read ") + what + " " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

StatusOr<std::unique_ptr<RpcServer>> RpcServer::Start(Coordinator* coordinator, Clock* clock,
                                                      RpcServerOptions options) {
  auto log = GetLogger("rpc");
  std::unique_ptr<RpcServer> s(new RpcServer());
  s->options_ = std::move(options);
  s->coordinator_ = coordinator;
  LCSWEEP_ASSIGN_OR_RETURN(s->checkpoints_, CheckpointFiles::Open(s->options_.artifacts_dir));

  s->env_.coordinator = coordinator;
  s->env_.clock = clock;
  s->env_.tokens = s->options_.tokens ? &*s->options_.tokens : nullptr;
  s->env_.checkpoints = s->checkpoints_.get();
  s->env_.stopping = &s->streams_stopping_;
  s->waiters_ = std::make_unique<FeedWaiters>(&coordinator->feed());
  s->env_.waiters = s->waiters_.get();
  s->env_.max_checkpoint_bytes = s->options_.max_checkpoint_bytes;
  s->env_.max_lease_wait_seconds = s->options_.max_lease_wait_seconds;
  s->env_.after_commit = s->options_.after_commit;
  s->job_service_ = std::make_unique<JobServiceImpl>(&s->env_);
  s->worker_service_ = std::make_unique<WorkerServiceImpl>(&s->env_);

  std::shared_ptr<grpc::ServerCredentials> creds;
  const bool tls = !s->options_.tls_cert_file.empty() || !s->options_.tls_key_file.empty();
  if (tls) {
    if (s->options_.tls_cert_file.empty() || s->options_.tls_key_file.empty()) {
      return InvalidArgumentError("TLS needs both a certificate and a key (--tls-cert, --tls-key)");
    }
    LCSWEEP_ASSIGN_OR_RETURN(std::string cert, ReadFile(s->options_.tls_cert_file, "TLS certificate"));
    LCSWEEP_ASSIGN_OR_RETURN(std::string key, ReadFile(s->options_.tls_key_file, "TLS key"));
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({key, cert});
    if (!s->options_.tls_client_ca_file.empty()) {
      LCSWEEP_ASSIGN_OR_RETURN(ssl.pem_root_certs,
                               ReadFile(s->options_.tls_client_ca_file, "client CA (--tls-client-ca)"));
      ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
    }
    creds = grpc::SslServerCredentials(ssl);
  } else if (!s->options_.tls_client_ca_file.empty()) {
    return InvalidArgumentError("--tls-client-ca needs TLS on the port (--tls-cert, --tls-key)");
  } else {
    creds = grpc::InsecureServerCredentials();
  }

  grpc::EnableDefaultHealthCheckService(true);
  if (s->options_.enable_reflection) grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(s->options_.listen, creds, &port);
  builder.SetMaxReceiveMessageSize(s->options_.max_message_bytes);
  builder.SetMaxSendMessageSize(s->options_.max_message_bytes);
  builder.RegisterService(s->job_service_.get());
  builder.RegisterService(s->worker_service_.get());
  {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> f;
    f.push_back(std::make_unique<ParseErrorInterceptorFactory>());
    // Last: PRE_SEND_STATUS hooks run in registration order, so it counts the
    // status the client gets (after the parse-error rewrite).
    if (s->options_.metrics) f.push_back(std::make_unique<MetricsInterceptorFactory>(s->options_.metrics));
    builder.experimental().SetInterceptorCreators(std::move(f));
  }
  s->server_ = builder.BuildAndStart();
  if (!s->server_ || port == 0) {
    return UnavailableError("cannot listen on " + s->options_.listen +
                            " (address in use, or not a valid HOST:PORT)");
  }
  s->port_ = port;
  std::string host = s->options_.listen.substr(0, s->options_.listen.rfind(':'));
  s->address_ = host + ":" + std::to_string(port);

  if (s->options_.metrics) {
    s->leases_expired_ = s->options_.metrics
                             ->AddCounter("lcsweep_leases_expired_total",
                                          "Leases the reaper found expired (the worker went silent)")
                             ->With({});
  }
  RpcServer* self = s.get();
  if (s->options_.reap_interval_ms > 0) s->reaper_ = std::thread([self] { self->ReapLoop(); });
  const char* tls_mode = !tls ? "off" : s->options_.tls_client_ca_file.empty() ? "on" : "mutual";
  log->info("event=serving {} {} {} {}", Kv("address", s->address_), Kv("tls", tls_mode),
            Kv("auth", s->env_.tokens ? "on" : "off"),
            Kv("max_message_bytes", s->options_.max_message_bytes));
  return s;
}

void RpcServer::ReapLoop() {
  auto log = GetLogger("rpc");
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(options_.reap_interval_ms),
                 [&] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    StatusOr<std::vector<int64_t>> reaped = coordinator_->ReapExpiredLeases();
    if (!reaped.ok()) {
      log->error("event=reap_failed {}", Kv("error", reaped.status().ToString()));
    } else if (!reaped->empty()) {
      log->info("event=reaped {}", Kv("jobs", reaped->size()));
      if (leases_expired_) leases_expired_->Inc(static_cast<double>(reaped->size()));
    }
    lock.lock();
  }
}

void RpcServer::Shutdown(std::chrono::milliseconds grace) {
  bool do_it = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;  // ends the reaper loop
    if (!stopped_ && server_) {
      stopped_ = true;  // only the first caller shuts down
      do_it = true;
    }
  }
  cv_.notify_all();
  if (!do_it) return;
  auto log = GetLogger("rpc");
  log->info("event=shutdown_begin {}", Kv("grace_ms", grace.count()));
  if (server_->GetHealthCheckService()) server_->GetHealthCheckService()->SetServingStatus(false);
  // Long polls and watch loops end at once; in-flight unary calls finish.
  streams_stopping_ = true;
  waiters_->Stop();  // every parked long poll and watch finishes now
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  if (reaper_.joinable()) reaper_.join();
  log->info("event=shutdown_done");
}

void RpcServer::Wait() {
  if (server_) server_->Wait();
}

size_t RpcServer::parked_calls() const { return waiters_ ? waiters_->parked() : 0; }

RpcServer::~RpcServer() { Shutdown(std::chrono::milliseconds(0)); }

}  // namespace lcsweep::rpc
