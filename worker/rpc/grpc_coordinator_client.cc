#include "worker/rpc/grpc_coordinator_client.h"

#include <grpcpp/grpcpp.h>

#include <fstream>
#include <sstream>

#include "common/limits.h"
#include "common/sha256.h"
#include "common/text_checks.h"
#include "common/tls_diagnosis.h"
#include "lcsweep/v1/coordinator.grpc.pb.h"
#include "proto/convert.h"

namespace lcsweep::agent {
namespace {

class GrpcCoordinatorClient : public CoordinatorClient {
 public:
  // `tls` holds the PEM texts read from options' files.
  GrpcCoordinatorClient(const GrpcClientOptions& options, TlsClientSettings tls)
      : options_(options), tls_(std::move(tls)) {
    std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
    if (tls_.tls) {
      grpc::SslCredentialsOptions ssl;
      ssl.pem_root_certs = tls_.ca_pem;
      ssl.pem_cert_chain = tls_.cert_pem;
      ssl.pem_private_key = tls_.key_pem;
      creds = grpc::SslCredentials(ssl);
    }
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 << 20);
    // Reconnect quickly after a coordinator restart: the leases of the jobs
    // this worker keeps training only survive one lease period. The minimum
    // backoff matters as much as the maximum (gRPC's default is 20 s, seen as
    // ~10 s of "connection refused" after the coordinator was back).
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 200);
    channel_ = grpc::CreateCustomChannel(options.target, creds, args);
    stub_ = v1::WorkerService::NewStub(channel_);
  }

  StatusOr<Registration> Register(const WorkerRegistration& r) override {
    v1::RegisterWorkerRequest req;
    req.set_name(r.name);
    req.set_hostname(r.hostname);
    for (const auto& d : r.devices) {
      v1::Device* dev = req.add_devices();
      dev->set_kind(d.kind);
      dev->set_name(d.name);
      dev->set_memory_gb(d.memory_gb);
      dev->set_free_memory_gb(d.free_memory_gb);
    }
    req.set_cores(r.cores);
    req.set_slots(r.slots);
    for (const auto& [k, v] : r.versions) (*req.mutable_versions())[k] = v;
    for (const auto& [k, v] : r.labels) (*req.mutable_labels())[k] = v;
    v1::RegisterWorkerResponse resp;
    auto ctx = Context();
    Status st = FromGrpcStatus(stub_->RegisterWorker(ctx.get(), req, &resp));
    if (st.code() == StatusCode::kUnavailable) {
      std::string tls = DiagnoseTls(tls_);
      if (!tls.empty()) return InvalidArgumentError("cannot connect to the coordinator at " + options_.target + ": " + tls);
    }
    LCSWEEP_RETURN_IF_ERROR(st);
    Registration out;
    out.worker_id = resp.worker_id();
    out.lease_ttl_ms = resp.lease_ttl_ms();
    out.heartbeat_interval_ms = resp.heartbeat_interval_ms();
    return out;
  }

  StatusOr<std::optional<LeaseGrant>> Lease(const LeaseRequest& r) override {
    v1::LeaseJobRequest req;
    req.set_worker_id(r.worker_id);
    req.set_has_cpu(r.has_cpu);
    req.set_has_cuda(r.has_cuda);
    req.set_free_gpu_memory_gb(r.free_gpu_memory_gb);
    req.set_wait_seconds(r.wait_seconds);
    req.set_device(r.device);
    v1::LeaseJobResponse resp;
    auto ctx = Context(std::chrono::seconds(r.wait_seconds));
    LCSWEEP_RETURN_IF_ERROR(FromGrpcStatus(stub_->LeaseJob(ctx.get(), req, &resp)));
    if (!resp.has_lease()) return std::optional<LeaseGrant>();
    const v1::Lease& l = resp.lease();
    LeaseGrant grant;
    grant.job_id = l.job().id();
    grant.attempt = l.job().attempt();
    grant.config_json = l.job().config_json();
    grant.config_hash = l.job().config_hash();
    grant.token = l.lease_token();
    grant.heartbeat_interval_ms = l.heartbeat_interval_ms();
    grant.memory_estimate_gb = l.memory_estimate_gb();
    if (l.has_resume_from() && l.resume_from().id() != 0) {
      CheckpointRef ref;
      ref.epoch = l.resume_from().epoch();
      ref.step = l.resume_from().step();
      ref.size_bytes = l.resume_from().size_bytes();
      ref.sha256 = l.resume_from().sha256();
      grant.resume_from = ref;
    }
    return std::optional<LeaseGrant>(std::move(grant));
  }

  StatusOr<bool> Heartbeat(int64_t job_id, const std::string& token,
                           const ProgressReport& progress, const ResourceUsage& usage) override {
    v1::HeartbeatRequest req;
    req.set_job_id(job_id);
    req.set_lease_token(token);
    req.mutable_progress()->set_epoch(progress.epoch);
    req.mutable_progress()->set_step(progress.step);
    for (const auto& [k, v] : progress.metrics) (*req.mutable_progress()->mutable_metrics())[k] = v;
    ToProto(usage, req.mutable_usage());
    for (const auto& d : progress.devices) {
      v1::Device* dev = req.add_devices();
      dev->set_kind(d.kind);
      dev->set_name(d.name);
      dev->set_memory_gb(d.memory_gb);
      dev->set_free_memory_gb(d.free_memory_gb);
    }
    v1::HeartbeatResponse resp;
    auto ctx = Context();
    LCSWEEP_RETURN_IF_ERROR(FromGrpcStatus(stub_->Heartbeat(ctx.get(), req, &resp)));
    return resp.cancel_requested();
  }

  Status ReportMetrics(int64_t job_id, const std::string& token, int64_t seq,
                       const std::vector<MetricSample>& points) override {
    v1::ReportMetricsRequest req;
    req.set_job_id(job_id);
    req.set_lease_token(token);
    req.set_seq(seq);
    for (const auto& p : points) {
      v1::MetricPoint* mp = req.add_points();
      mp->set_name(p.name);
      mp->set_value(p.value);
      mp->set_step(p.step);
      mp->set_epoch(p.epoch);
      mp->set_time_ms(p.time_ms);
    }
    v1::ReportMetricsResponse resp;
    auto ctx = Context();
    return FromGrpcStatus(stub_->ReportMetrics(ctx.get(), req, &resp));
  }

  Status UploadCheckpoint(int64_t job_id, const std::string& token, int64_t epoch, int64_t step,
                          const std::string& file_path) override {
    v1::UploadCheckpointResponse resp;
    return Upload("checkpoint", job_id, token, epoch, step, file_path,
                  [&](grpc::ClientContext* ctx) { return stub_->UploadCheckpoint(ctx, &resp); });
  }

  Status UploadModel(int64_t job_id, const std::string& token, int64_t epoch, int64_t step,
                     const std::string& file_path) override {
    v1::UploadModelResponse resp;
    return Upload("model", job_id, token, epoch, step, file_path,
                  [&](grpc::ClientContext* ctx) { return stub_->UploadModel(ctx, &resp); });
  }

  Status DownloadCheckpoint(int64_t job_id, const std::string& token,
                            const std::string& file_path) override {
    v1::DownloadCheckpointRequest req;
    req.set_job_id(job_id);
    req.set_lease_token(token);
    auto ctx = Context(std::chrono::seconds(120));
    auto reader = stub_->DownloadCheckpoint(ctx.get(), req);
    v1::DownloadCheckpointResponse part;
    std::string bytes;
    std::string expected_sha;
    int64_t expected_size = -1;
    while (reader->Read(&part)) {
      if (part.has_metadata()) {
        expected_sha = part.metadata().sha256();
        expected_size = part.metadata().size_bytes();
      } else {
        bytes += part.chunk();
      }
    }
    LCSWEEP_RETURN_IF_ERROR(FromGrpcStatus(reader->Finish()));
    Sha256 hash;
    hash.Update(bytes);
    if (static_cast<int64_t>(bytes.size()) != expected_size || hash.FinishHex() != expected_sha) {
      return DataLossError("downloaded checkpoint of job " + std::to_string(job_id) +
                           " does not match its size/SHA-256");
    }
    const std::string tmp = file_path + ".part";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      if (!out) return InternalError("cannot write " + tmp);
    }
    if (std::rename(tmp.c_str(), file_path.c_str()) != 0) {
      return InternalError("cannot rename " + tmp + " to " + file_path);
    }
    return OkStatus();
  }

  Status CompleteJob(int64_t job_id, const std::string& token, const std::string& result_json,
                     const ResourceUsage& usage) override {
    v1::CompleteJobRequest req;
    req.set_job_id(job_id);
    req.set_lease_token(token);
    req.set_result_json(result_json);
    ToProto(usage, req.mutable_usage());
    v1::CompleteJobResponse resp;
    auto ctx = Context();
    return FromGrpcStatus(stub_->CompleteJob(ctx.get(), req, &resp));
  }

  Status FailJob(int64_t job_id, const std::string& token, const std::string& error,
                 bool retryable, const ResourceUsage& usage) override {
    v1::FailJobRequest req;
    req.set_job_id(job_id);
    req.set_lease_token(token);
    // The coordinator refuses longer texts (a LibTorch error with its
    // backtrace can be longer): send the head, which says what failed.
    req.set_error(std::string(CutUtf8(error, kMaxErrorTextBytes)));
    req.set_retryable(retryable);
    ToProto(usage, req.mutable_usage());
    v1::FailJobResponse resp;
    auto ctx = Context();
    return FromGrpcStatus(stub_->FailJob(ctx.get(), req, &resp));
  }

  Status ReleaseJob(int64_t job_id, const std::string& token, const std::string& reason,
                    const ResourceUsage& usage) override {
    v1::ReleaseJobRequest req;
    req.set_job_id(job_id);
    req.set_lease_token(token);
    req.set_reason(reason);
    ToProto(usage, req.mutable_usage());
    v1::ReleaseJobResponse resp;
    auto ctx = Context();
    return FromGrpcStatus(stub_->ReleaseJob(ctx.get(), req, &resp));
  }

  Status ReleaseJobForMemory(int64_t job_id, const std::string& token, ReleaseReason why,
                             double memory_estimate_gb, const std::string& reason,
                             const ResourceUsage& usage) override {
    v1::ReleaseJobRequest req;
    req.set_job_id(job_id);
    req.set_lease_token(token);
    req.set_reason(reason);
    req.set_reason_code(why == ReleaseReason::kOutOfMemory ? v1::RELEASE_REASON_OUT_OF_MEMORY
                                                           : v1::RELEASE_REASON_DOES_NOT_FIT);
    req.set_memory_estimate_gb(memory_estimate_gb);
    ToProto(usage, req.mutable_usage());
    v1::ReleaseJobResponse resp;
    auto ctx = Context();
    return FromGrpcStatus(stub_->ReleaseJob(ctx.get(), req, &resp));
  }

 private:
  // Streams a file as UploadCheckpoint / UploadModel expect: metadata (with
  // size and SHA-256), then chunks. `open` starts the call on a context.
  template <typename Open>
  Status Upload(const char* what, int64_t job_id, const std::string& token, int64_t epoch, int64_t step,
                const std::string& file_path, Open open) {
    std::ifstream in(file_path, std::ios::binary);
    if (!in) return NotFoundError(std::string(what) + " file " + file_path + " cannot be read");
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    Sha256 hash;
    hash.Update(bytes);
    v1::UploadCheckpointRequest first;
    v1::CheckpointUploadMetadata* meta = first.mutable_metadata();
    meta->set_job_id(job_id);
    meta->set_lease_token(token);
    meta->set_epoch(epoch);
    meta->set_step(step);
    meta->set_size_bytes(static_cast<int64_t>(bytes.size()));
    meta->set_sha256(hash.FinishHex());
    auto ctx = Context(std::chrono::seconds(120));
    auto writer = open(ctx.get());
    bool ok = writer->Write(first);
    for (size_t off = 0; ok && off < bytes.size(); off += options_.chunk_bytes) {
      v1::UploadCheckpointRequest chunk;
      chunk.set_chunk(bytes.substr(off, options_.chunk_bytes));
      ok = writer->Write(chunk);
    }
    writer->WritesDone();
    return FromGrpcStatus(writer->Finish());
  }

  std::unique_ptr<grpc::ClientContext> Context(std::chrono::milliseconds extra = {}) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + options_.call_timeout + extra);
    if (!options_.token.empty()) ctx->AddMetadata("authorization", "Bearer " + options_.token);
    return ctx;
  }

  GrpcClientOptions options_;
  TlsClientSettings tls_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::WorkerService::Stub> stub_;
};

}  // namespace

StatusOr<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return NotFoundError("token file " + path +
                         " cannot be read; pass --token-file with a file holding the worker's token");
  }
  std::string line;
  while (std::getline(in, line)) {
    const auto b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    const auto e = line.find_last_not_of(" \t\r");
    return line.substr(b, e - b + 1);
  }
  return InvalidArgumentError("token file " + path + " is empty; put the worker token on its first line");
}

StatusOr<std::unique_ptr<CoordinatorClient>> MakeGrpcCoordinatorClient(const GrpcClientOptions& options) {
  auto read = [](const std::string& path, const char* flag, std::string* out) -> Status {
    std::ifstream in(path);
    if (!in) return InvalidArgumentError(std::string("cannot read ") + flag + " " + path);
    std::stringstream pem;
    pem << in.rdbuf();
    *out = pem.str();
    return OkStatus();
  };
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return InvalidArgumentError("a client certificate needs both --tls-cert and --tls-key");
  }
  TlsClientSettings tls;
  tls.target = options.target;
  tls.tls = !options.tls_ca_file.empty() || !options.tls_cert_file.empty();
  if (!options.tls_ca_file.empty()) LCSWEEP_RETURN_IF_ERROR(read(options.tls_ca_file, "--tls-ca", &tls.ca_pem));
  if (!options.tls_cert_file.empty()) {
    LCSWEEP_RETURN_IF_ERROR(read(options.tls_cert_file, "--tls-cert", &tls.cert_pem));
    LCSWEEP_RETURN_IF_ERROR(read(options.tls_key_file, "--tls-key", &tls.key_pem));
  }
  return std::unique_ptr<CoordinatorClient>(std::make_unique<GrpcCoordinatorClient>(options, std::move(tls)));
}

}  // namespace lcsweep::agent
