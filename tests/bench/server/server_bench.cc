// server_bench: the coordinator over real gRPC on loopback, with a real
// SQLite file (WAL), as simulated workers see it.
//
// Part 1, job cycles: N workers (1, 8, 64) each loop lease -> heartbeat ->
// report metrics (one batch) -> complete on no-op jobs until the queue is
// empty. Reports jobs/s, the coordinator overhead per job (the time a worker
// spends blocked in the four RPCs of one job), and p50/p99 latency per RPC.
// Part 2, metric streaming: 64 workers hold leases and stream ReportMetrics
// batches for a fixed time; points/s for batch sizes 1, 100 and 1000 per RPC.
// Part 3, the storage alternative: SqliteStore::Commit with one transaction
// per metric point vs one transaction per 1000-point batch.
//
// Usage: server_bench [--quick]   (quick: fewer jobs, shorter streaming)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "common/logging.h"
#include "lcsweep/v1/coordinator.grpc.pb.h"
#include "server/core/clock.h"
#include "server/core/coordinator.h"
#include "server/rpc/server.h"
#include "server/store/sqlite_store.h"

namespace lcsweep {
namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::string TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "lcsweep-bench-XXXXXX").string();
  return mkdtemp(tmpl.data());
}

// A coordinator stack like lcsweep-coordinator's, on a fresh file.
struct Stack {
  std::string dir = TempDir();
  std::unique_ptr<SqliteStore> store;
  std::unique_ptr<Coordinator> coordinator;
  std::unique_ptr<rpc::RpcServer> server;

  Stack() {
    store = std::move(SqliteStore::Open(dir + "/bench.db")).value();
    CoordinatorOptions co;
    coordinator = std::move(Coordinator::Create(store.get(), SystemClock::Get(), co)).value();
    rpc::RpcServerOptions ro;
    ro.listen = "127.0.0.1:0";
    ro.artifacts_dir = dir + "/artifacts";
    ro.reap_interval_ms = 1000;
    server = std::move(rpc::RpcServer::Start(coordinator.get(), SystemClock::Get(), ro)).value();
  }
  ~Stack() {
    server->Shutdown(std::chrono::seconds(2));
    coordinator->Shutdown();
    server.reset();
    coordinator.reset();
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  // One channel per worker, like separate worker processes.
  std::shared_ptr<grpc::Channel> Channel() {
    grpc::ChannelArguments args;
    args.SetInt("grpc.use_local_subchannel_pool", 1);  // a connection of its own
    return grpc::CreateCustomChannel(server->address(), grpc::InsecureChannelCredentials(), args);
  }
  int64_t Submit(int jobs) {
    // 8 LC rates x jobs/8 seeds of a tiny synthetic config.
    std::string seeds;
    for (int i = 0; i < (jobs + 7) / 8; ++i) seeds += (i ? "," : "") + std::to_string(i);
    std::string spec = R"({"name": "bench", "base": {"data": {"name": "synthetic"}, "train": {"epochs": 1}},
        "grid": {"model.conv.lc_rate": [1, 2, 4, 8, 16, 32, 64, 128]}, "seeds": [)" + seeds + "]}";
    auto stub = v1::JobService::NewStub(Channel());
    v1::SubmitSweepRequest req;
    req.set_spec_json(spec);
    v1::SubmitSweepResponse resp;
    grpc::ClientContext ctx;
    grpc::Status st = stub->SubmitSweep(&ctx, req, &resp);
    if (!st.ok()) {
      std::fprintf(stderr, "submit failed: %s\n", st.error_message().c_str());
      std::exit(1);
    }
    return resp.created();
  }
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

struct Latencies {
  std::map<std::string, std::vector<double>> by_rpc;
  std::vector<double> per_job;  // sum of the four RPCs of one job
  void Merge(const Latencies& o) {
    for (const auto& [k, v] : o.by_rpc) by_rpc[k].insert(by_rpc[k].end(), v.begin(), v.end());
    per_job.insert(per_job.end(), o.per_job.begin(), o.per_job.end());
  }
};

v1::ReportMetricsRequest MetricBatch(const std::string& token, int points, int64_t step0) {
  v1::ReportMetricsRequest req;
  req.set_lease_token(token);
  for (int i = 0; i < points; ++i) {
    v1::MetricPoint* p = req.add_points();
    p->set_name(i % 2 ? "train.loss" : "train.accuracy");
    p->set_value(0.001 * static_cast<double>(i));
    p->set_step(step0 + i);
    p->set_epoch(0);
  }
  return req;
}

void Check(const grpc::Status& st, const char* what, std::atomic<int>* errors) {
  if (!st.ok()) {
    if (errors->fetch_add(1) < 5) std::fprintf(stderr, "%s failed: %s\n", what, st.error_message().c_str());
  }
}

struct CycleResult {
  int workers = 0;
  int64_t jobs = 0;
  double wall_s = 0;
  int errors = 0;
  Latencies lat;
};

CycleResult RunCycles(int workers, int jobs, int points_per_job) {
  Stack stack;
  CycleResult r;
  r.workers = workers;
  int64_t created = stack.Submit(jobs);
  std::atomic<int> errors{0};
  std::atomic<int64_t> done{0};
  std::vector<Latencies> lat(static_cast<size_t>(workers));
  std::vector<std::thread> threads;
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      auto stub = v1::WorkerService::NewStub(stack.Channel());
      v1::RegisterWorkerRequest reg;
      reg.set_name("bench-" + std::to_string(w));
      v1::RegisterWorkerResponse regr;
      {
        grpc::ClientContext ctx;
        Check(stub->RegisterWorker(&ctx, reg, &regr), "register", &errors);
      }
      Latencies& L = lat[static_cast<size_t>(w)];
      ready.fetch_add(1);
      while (!go.load()) std::this_thread::yield();
      while (true) {
        v1::LeaseJobRequest lreq;
        lreq.set_worker_id(regr.worker_id());
        lreq.set_has_cpu(true);
        v1::LeaseJobResponse lresp;
        auto t0 = Clock::now();
        {
          grpc::ClientContext ctx;
          Check(stub->LeaseJob(&ctx, lreq, &lresp), "lease", &errors);
        }
        auto t1 = Clock::now();
        if (!lresp.has_lease()) break;
        const std::string& token = lresp.lease().lease_token();
        v1::HeartbeatRequest hb;
        hb.set_lease_token(token);
        hb.mutable_progress()->set_epoch(1);
        v1::HeartbeatResponse hbr;
        {
          grpc::ClientContext ctx;
          Check(stub->Heartbeat(&ctx, hb, &hbr), "heartbeat", &errors);
        }
        auto t2 = Clock::now();
        v1::ReportMetricsRequest mreq = MetricBatch(token, points_per_job, 0);
        v1::ReportMetricsResponse mresp;
        {
          grpc::ClientContext ctx;
          Check(stub->ReportMetrics(&ctx, mreq, &mresp), "report", &errors);
        }
        auto t3 = Clock::now();
        v1::CompleteJobRequest creq;
        creq.set_lease_token(token);
        creq.set_result_json(R"({"test": {"accuracy": 0.5}})");
        v1::CompleteJobResponse cresp;
        {
          grpc::ClientContext ctx;
          Check(stub->CompleteJob(&ctx, creq, &cresp), "complete", &errors);
        }
        auto t4 = Clock::now();
        L.by_rpc["LeaseJob"].push_back(Ms(t1 - t0));
        L.by_rpc["Heartbeat"].push_back(Ms(t2 - t1));
        L.by_rpc["ReportMetrics"].push_back(Ms(t3 - t2));
        L.by_rpc["CompleteJob"].push_back(Ms(t4 - t3));
        L.per_job.push_back(Ms(t4 - t0));
        done.fetch_add(1);
      }
    });
  }
  while (ready.load() < workers) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto start = Clock::now();
  go = true;
  for (auto& t : threads) t.join();
  r.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  r.jobs = done.load();
  r.errors = errors.load();
  for (const auto& l : lat) r.lat.Merge(l);
  if (r.jobs != created) {
    std::fprintf(stderr, "only %lld of %lld jobs completed\n", static_cast<long long>(r.jobs),
                 static_cast<long long>(created));
  }
  return r;
}

struct StreamResult {
  int workers = 0;
  int batch = 0;
  int64_t points = 0;
  double wall_s = 0;
  int errors = 0;
  std::vector<double> lat;
};

StreamResult RunStreaming(int workers, int batch, double seconds) {
  Stack stack;
  stack.Submit(workers);
  StreamResult r;
  r.workers = workers;
  r.batch = batch;
  std::atomic<int> errors{0};
  std::atomic<int64_t> points{0};
  std::vector<std::vector<double>> lat(static_cast<size_t>(workers));
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      auto stub = v1::WorkerService::NewStub(stack.Channel());
      v1::RegisterWorkerRequest reg;
      reg.set_name("stream-" + std::to_string(w));
      v1::RegisterWorkerResponse regr;
      v1::LeaseJobResponse lresp;
      {
        grpc::ClientContext ctx;
        Check(stub->RegisterWorker(&ctx, reg, &regr), "register", &errors);
        v1::LeaseJobRequest lreq;
        lreq.set_worker_id(regr.worker_id());
        lreq.set_has_cpu(true);
        grpc::ClientContext ctx2;
        Check(stub->LeaseJob(&ctx2, lreq, &lresp), "lease", &errors);
      }
      ready.fetch_add(1);
      if (!lresp.has_lease()) return;
      while (!go.load()) std::this_thread::yield();
      int64_t step = 0;
      while (!stop.load()) {
        v1::ReportMetricsRequest req = MetricBatch(lresp.lease().lease_token(), batch, step);
        step += batch;
        v1::ReportMetricsResponse resp;
        grpc::ClientContext ctx;
        auto t0 = Clock::now();
        grpc::Status st = stub->ReportMetrics(&ctx, req, &resp);
        lat[static_cast<size_t>(w)].push_back(Ms(Clock::now() - t0));
        Check(st, "report", &errors);
        if (st.ok()) points.fetch_add(resp.accepted());
      }
    });
  }
  while (ready.load() < workers) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto start = Clock::now();
  go = true;
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  r.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  r.points = points.load();
  r.errors = errors.load();
  for (const auto& l : lat) r.lat.insert(r.lat.end(), l.begin(), l.end());
  return r;
}

// Store level: the same points, one transaction each vs batched.
double StorePointsPerSecond(int per_txn, int total) {
  std::string dir = TempDir();
  auto store = std::move(SqliteStore::Open(dir + "/store.db")).value();
  // A job row for the points to belong to.
  auto coordinator = std::move(Coordinator::Create(store.get(), SystemClock::Get())).value();
  SubmitSweepRequest sreq;
  sreq.spec_json = R"({"name": "s", "base": {"data": {"name": "synthetic"}}})";
  auto sub = coordinator->SubmitSweep(sreq);
  int64_t job_id = sub.ok() && !sub->jobs.empty() ? sub->jobs[0].job_id : 1;
  coordinator.reset();
  auto start = Clock::now();
  for (int done = 0; done < total; done += per_txn) {
    WriteBatch batch;
    for (int i = 0; i < per_txn; ++i) {
      MetricPoint p;
      p.job_id = job_id;
      p.attempt = 1;
      p.step = done + i;
      p.name = "train.loss";
      p.value = 0.5;
      p.time_ms = 1;
      batch.metrics.push_back(p);
    }
    Status st = store->Commit(batch);
    if (!st.ok()) {
      std::fprintf(stderr, "commit failed: %s\n", st.ToString().c_str());
      break;
    }
  }
  double s = std::chrono::duration<double>(Clock::now() - start).count();
  store.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return total / s;
}

}  // namespace
}  // namespace lcsweep

int main(int argc, char** argv) {
  using namespace lcsweep;
  bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  SetupLogging("warn");
  const int kPointsPerJob = 20;
  std::printf("lcsweep coordinator benchmark: real gRPC on loopback, SQLite WAL file, %u hardware threads\n\n",
              std::thread::hardware_concurrency());

  std::printf("Part 1: job cycles (lease -> heartbeat -> report %d points -> complete), no-op jobs\n",
              kPointsPerJob);
  std::printf("%-8s %6s %8s %9s %12s %12s | %-24s %-24s %-24s %-24s\n", "workers", "jobs", "wall_s",
              "jobs/s", "overhead_ms", "wall/job_ms", "LeaseJob p50/p99/mean", "Heartbeat p50/p99/mean",
              "ReportMetrics p50/p99/mean", "CompleteJob p50/p99/mean");
  for (int workers : {1, 8, 64}) {
    int jobs = quick ? 200 : (workers == 1 ? 400 : 1600);
    CycleResult r = RunCycles(workers, jobs, kPointsPerJob);
    double mean_overhead = 0;
    for (double v : r.lat.per_job) mean_overhead += v;
    mean_overhead /= std::max<size_t>(1, r.lat.per_job.size());
    std::printf("%-8d %6lld %8.2f %9.1f %12.3f %12.3f |", workers, static_cast<long long>(r.jobs),
                r.wall_s, r.jobs / r.wall_s, mean_overhead, 1000.0 * r.wall_s / r.jobs);
    for (const char* rpc : {"LeaseJob", "Heartbeat", "ReportMetrics", "CompleteJob"}) {
      const auto& v = r.lat.by_rpc[rpc];
      double mean = 0;
      for (double x : v) mean += x;
      mean /= std::max<size_t>(1, v.size());
      char cell[64];
      std::snprintf(cell, sizeof cell, "%.2f/%.2f/%.2f", Percentile(v, 0.5), Percentile(v, 0.99), mean);
      std::printf(" %-24s", cell);
    }
    std::printf("%s\n", r.errors ? "  ERRORS" : "");
  }
  std::printf("(latencies in ms. overhead_ms: mean time one worker is blocked in the 4 RPCs of a\n"
              " job, queueing behind the other workers included; wall/job_ms: wall time / jobs, the\n"
              " coordinator's cost per job when the workers saturate it)\n\n");

  std::printf("Part 2: metric streaming, 64 workers each holding a lease, ReportMetrics in a loop\n");
  std::printf("%-8s %-16s %12s %14s %16s %16s\n", "workers", "points/RPC", "RPCs", "points/s",
              "RPC p50 ms", "RPC p99 ms");
  double seconds = quick ? 1.5 : 4.0;
  std::map<int, double> rate;
  for (int batch : {1, 100, 1000}) {
    StreamResult r = RunStreaming(64, batch, seconds);
    rate[batch] = r.points / r.wall_s;
    std::printf("%-8d %-16d %12zu %14.0f %16.3f %16.3f%s\n", r.workers, batch, r.lat.size(), rate[batch],
                Percentile(r.lat, 0.5), Percentile(r.lat, 0.99), r.errors ? "  ERRORS" : "");
  }
  std::printf("batched (1000/RPC) vs one point per RPC: %.1fx more points/s\n\n", rate[1000] / rate[1]);

  std::printf("Part 3: the storage alternative, SqliteStore::Commit directly (no gRPC)\n");
  int total = quick ? 2000 : 5000;
  double one = StorePointsPerSecond(1, total);
  double batched = StorePointsPerSecond(1000, quick ? 100'000 : 400'000);
  std::printf("%-36s %14.0f points/s\n", "one transaction per point", one);
  std::printf("%-36s %14.0f points/s\n", "one transaction per 1000 points", batched);
  std::printf("batched vs one transaction per point: %.1fx\n", batched / one);
  return 0;
}
