// long_poll_bench: what idle long-polling workers cost the coordinator. N
// workers (500, 2,000) each hold one LeaseJob call with wait_seconds = 60
// against an empty queue, over real gRPC on loopback (one async client
// thread drives all of them); then a sweep of N jobs is submitted and every
// poll must come back with a lease. Printed per mode: the threads the process
// gained while the polls waited, its resident memory gained, and the time
// from the submission until the last poll got its lease.
//
// Modes, in one run:
//  - callback: the coordinator's own server (server/rpc/long_polls.h), where
//    a waiting poll is parked in FeedWaiters and holds no thread;
//  - blocking: the slower alternative, a synchronous-API LeaseJob written
//    here that waits on the change feed in its handler thread (as the server
//    did before), one thread per waiting call.
//
// Usage: long_poll_bench [--quick]   (quick: 500 workers only)
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "common/logging.h"
#include "lcsweep/v1/coordinator.grpc.pb.h"
#include "proto/convert.h"
#include "server/core/clock.h"
#include "server/core/coordinator.h"
#include "server/rpc/convert.h"
#include "server/rpc/server.h"
#include "server/store/sqlite_store.h"

namespace lcsweep {
namespace {

using SteadyClock = std::chrono::steady_clock;

// "Threads:" and "VmRSS:" (KiB) of this process.
long ProcStatus(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) return std::stol(line.substr(std::strlen(key)));
  return -1;
}

// The blocking alternative: the handler's thread waits on the feed.
class BlockingWorkerService final : public v1::WorkerService::Service {
 public:
  explicit BlockingWorkerService(Coordinator* c) : coordinator_(c) {}
  grpc::Status LeaseJob(grpc::ServerContext* context, const v1::LeaseJobRequest* request,
                        v1::LeaseJobResponse* response) override {
    const auto deadline = SteadyClock::now() + std::chrono::seconds(request->wait_seconds());
    const LeaseRequest req = rpc::FromProto(*request);
    uint64_t cursor = coordinator_->feed().Cursor();
    while (true) {
      StatusOr<std::optional<Lease>> lease = coordinator_->LeaseJob(req);
      if (!lease.ok()) return ToGrpcStatus(lease.status());
      if (lease->has_value()) {
        rpc::ToProto(**lease, response->mutable_lease());
        return grpc::Status::OK;
      }
      if (SteadyClock::now() >= deadline || context->IsCancelled()) return grpc::Status::OK;
      cursor = coordinator_->feed()
                   .Wait(cursor, std::min(deadline, SteadyClock::now() + std::chrono::milliseconds(250)))
                   .next_cursor;
    }
  }

 private:
  Coordinator* coordinator_;
};

struct Row {
  size_t parked = 0;
  long threads = 0;
  double rss_mib = 0;
  double all_leased_ms = 0;
  int leased = 0;
};

std::string Spec(int jobs) {
  nlohmann::json spec;
  spec["name"] = "poll";
  spec["base"] = {{"data", {{"name", "synthetic"}}}, {"train", {{"epochs", 1}}}};
  spec["grid"] = {{"model.conv.lc_rate", {8}}};
  std::vector<int> seeds;
  for (int i = 0; i < jobs; ++i) seeds.push_back(i);
  spec["seeds"] = seeds;
  return spec.dump();
}

Row Run(int workers, bool callback) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "lcsweep-poll-XXXXXX").string();
  const std::string dir = mkdtemp(tmpl.data());
  auto store = std::move(SqliteStore::Open(dir + "/bench.db")).value();
  auto coord = std::move(Coordinator::Create(store.get(), SystemClock::Get(), {})).value();
  std::vector<int64_t> ids;
  for (int i = 0; i < workers; ++i) {
    WorkerRecord w;
    w.name = "w" + std::to_string(i);
    ids.push_back(coord->RegisterWorker(w)->worker_id);
  }

  std::unique_ptr<rpc::RpcServer> server;
  std::unique_ptr<grpc::Server> blocking;
  BlockingWorkerService blocking_service(coord.get());
  std::string address;
  if (callback) {
    rpc::RpcServerOptions o;
    o.listen = "127.0.0.1:0";
    o.artifacts_dir = dir + "/artifacts";
    o.reap_interval_ms = 0;
    server = std::move(rpc::RpcServer::Start(coord.get(), SystemClock::Get(), o)).value();
    address = server->address();
  } else {
    int port = 0;
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    b.RegisterService(&blocking_service);
    blocking = b.BuildAndStart();
    address = "127.0.0.1:" + std::to_string(port);
  }
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  auto stub = v1::WorkerService::NewStub(channel);
  channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5));

  const long threads_before = ProcStatus("Threads:");
  const long rss_before = ProcStatus("VmRSS:");
  struct Call {
    grpc::ClientContext context;
    v1::LeaseJobResponse response;
    grpc::Status status;
    std::unique_ptr<grpc::ClientAsyncResponseReader<v1::LeaseJobResponse>> reader;
  };
  grpc::CompletionQueue cq;
  std::vector<std::unique_ptr<Call>> calls;
  for (int i = 0; i < workers; ++i) {
    auto call = std::make_unique<Call>();
    v1::LeaseJobRequest req;
    req.set_worker_id(ids[i]);
    req.set_wait_seconds(60);
    req.set_has_cpu(true);
    call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
    call->reader = stub->PrepareAsyncLeaseJob(&call->context, req, &cq);
    call->reader->StartCall();
    call->reader->Finish(&call->response, &call->status, call.get());
    calls.push_back(std::move(call));
  }
  // Let every poll arrive and settle into its wait.
  Row row;
  const auto settle = SteadyClock::now() + std::chrono::seconds(30);
  while (SteadyClock::now() < settle) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (callback && server->parked_calls() == static_cast<size_t>(workers)) break;
    if (!callback && ProcStatus("Threads:") - threads_before >= workers) break;
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  row.parked = callback ? server->parked_calls() : 0;
  row.threads = ProcStatus("Threads:") - threads_before;
  row.rss_mib = static_cast<double>(ProcStatus("VmRSS:") - rss_before) / 1024.0;

  SubmitSweepRequest sub;
  sub.spec_json = Spec(workers);
  const auto t0 = SteadyClock::now();
  auto submitted = coord->SubmitSweep(sub);
  if (!submitted.ok()) std::fprintf(stderr, "submit failed: %s\n", submitted.status().ToString().c_str());
  for (int i = 0; i < workers; ++i) {
    void* tag = nullptr;
    bool ok = false;
    if (!cq.Next(&tag, &ok)) break;
    auto* call = static_cast<Call*>(tag);
    if (ok && call->status.ok() && call->response.has_lease()) ++row.leased;
  }
  row.all_leased_ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();

  if (server) server->Shutdown(std::chrono::milliseconds(0));
  if (blocking) blocking->Shutdown(std::chrono::system_clock::now());
  cq.Shutdown();
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
  }
  calls.clear();
  server.reset();
  blocking.reset();
  coord.reset();
  store.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return row;
}

}  // namespace
}  // namespace lcsweep

int main(int argc, char** argv) {
  using namespace lcsweep;
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  SetupLogging("warn");
  std::printf("long_poll_bench: N idle LeaseJob long polls (wait 60 s) over gRPC on loopback, "
              "then a sweep of N jobs\n\n");
  std::printf("%8s  %-9s %8s %14s %13s %8s %15s\n", "workers", "mode", "parked", "threads_added",
              "rss_added_MiB", "leased", "all_leased_ms");
  std::vector<int> sizes = quick ? std::vector<int>{500} : std::vector<int>{500, 2000};
  for (int n : sizes) {
    Row cb = Run(n, /*callback=*/true);
    Row bl = Run(n, /*callback=*/false);
    for (const auto& [name, r] :
         {std::pair<const char*, Row>{"callback", cb}, std::pair<const char*, Row>{"blocking", bl}})
      std::printf("%8d  %-9s %8zu %14ld %13.1f %8d %15.1f\n", n, name, r.parked, r.threads,
                  r.rss_mib, r.leased, r.all_leased_ms);
    std::printf("%8s  threads while waiting: %ld vs %ld; memory %.1fx less with callbacks\n", "",
                cb.threads, bl.threads, bl.rss_mib / std::max(cb.rss_mib, 0.1));
  }
  return 0;
}
