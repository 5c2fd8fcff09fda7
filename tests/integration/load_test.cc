// Load test of issue 9: N simulated workers (threads, default 200) against one
// real lcsweep-coordinator process on loopback for D seconds (default 60).
// Each simulated worker acts through the real WorkerService: it registers,
// then loops lease (long poll) -> heartbeat -> report metrics (2 batches) ->
// heartbeat -> complete, as fast as the coordinator answers. A feeder submits
// sweeps so that the queue never runs dry.
//
// Prints a table (jobs completed/s, RPCs/s by method, metric points/s, p50/p99
// latency per RPC, error counts by status code) and asserts zero errors, and
// that the coordinator's own counts match what the workers did.
//
// Knobs (environment, so CI keeps the defaults and a developer can shorten):
//   LCSWEEP_LOAD_SECONDS  duration of the load phase (default 60)
//   LCSWEEP_LOAD_WORKERS  simulated workers (default 200)
//   LCSWEEP_LOAD_CHANNELS gRPC channels shared round-robin by the workers
//                         (default: one per worker, i.e. a TCP connection each)
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "proto/convert.h"
#include "tests/integration/local_cluster.h"

namespace lcsweep::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  const int n = std::atoi(v);
  return n > 0 ? n : fallback;
}

constexpr int kPointsPerReport = 25;
constexpr int kReportsPerJob = 2;

enum Method { kRegister, kLease, kHeartbeat, kReport, kComplete, kNumMethods };
const char* kMethodNames[kNumMethods] = {"RegisterWorker", "LeaseJob", "Heartbeat",
                                         "ReportMetrics", "CompleteJob"};

// Per-thread tallies, merged at the end (no shared counters on the hot path).
struct Tally {
  std::vector<double> latency_ms[kNumMethods];
  std::map<std::string, int64_t> errors;  // "Method/CODE" -> count
  int64_t jobs_completed = 0;
  int64_t empty_leases = 0;
  int64_t points = 0;
};


// One call: times it, counts an error by method and code.
template <typename Call>
bool Timed(Tally& t, Method m, Call call) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(60));
  const auto start = Clock::now();
  grpc::Status st = call(&ctx);
  t.latency_ms[m].push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  if (!st.ok()) {
    ++t.errors[std::string(kMethodNames[m]) + "/" + GrpcCodeName(st.error_code())];
    if (t.errors.size() < 4) std::fprintf(stderr, "[load] %s: %s\n", kMethodNames[m], st.error_message().c_str());
  }
  return st.ok();
}

void SimulatedWorker(int index, std::shared_ptr<grpc::Channel> channel,
                     const std::atomic<bool>* stop, Tally* t) {
  auto stub = v1::WorkerService::NewStub(channel);
  v1::RegisterWorkerRequest reg;
  reg.set_name("load-" + std::to_string(index));
  reg.set_hostname("loopback");
  reg.set_cores(1);
  reg.add_devices()->set_kind("cpu");
  v1::RegisterWorkerResponse reg_resp;
  if (!Timed(*t, kRegister, [&](grpc::ClientContext* c) { return stub->RegisterWorker(c, reg, &reg_resp); })) {
    return;
  }
  int64_t step = 0;
  while (!stop->load(std::memory_order_relaxed)) {
    v1::LeaseJobRequest lr;
    lr.set_worker_id(reg_resp.worker_id());
    lr.set_has_cpu(true);
    lr.set_wait_seconds(1);
    v1::LeaseJobResponse lease;
    if (!Timed(*t, kLease, [&](grpc::ClientContext* c) { return stub->LeaseJob(c, lr, &lease); })) continue;
    if (!lease.has_lease()) {
      ++t->empty_leases;
      continue;
    }
    const std::string& token = lease.lease().lease_token();
    const int64_t job_id = lease.lease().job().id();
    v1::HeartbeatRequest hb;
    hb.set_job_id(job_id);
    hb.set_lease_token(token);
    hb.mutable_progress()->set_epoch(0);
    v1::HeartbeatResponse hb_resp;
    Timed(*t, kHeartbeat, [&](grpc::ClientContext* c) { return stub->Heartbeat(c, hb, &hb_resp); });
    for (int r = 0; r < kReportsPerJob; ++r) {
      v1::ReportMetricsRequest mr;
      mr.set_job_id(job_id);
      mr.set_lease_token(token);
      for (int i = 0; i < kPointsPerReport; ++i) {
        v1::MetricPoint* p = mr.add_points();
        p->set_name(i % 2 ? "train.step_loss" : "train.lr");
        p->set_value(1.0 / (1 + step));
        p->set_step(++step);
      }
      v1::ReportMetricsResponse mr_resp;
      if (Timed(*t, kReport, [&](grpc::ClientContext* c) { return stub->ReportMetrics(c, mr, &mr_resp); })) {
        t->points += mr_resp.accepted();
      }
    }
    hb.mutable_progress()->set_epoch(1);
    Timed(*t, kHeartbeat, [&](grpc::ClientContext* c) { return stub->Heartbeat(c, hb, &hb_resp); });
    v1::CompleteJobRequest cr;
    cr.set_job_id(job_id);
    cr.set_lease_token(token);
    cr.set_result_json(R"({"final": {"test_accuracy": 0.5, "test_loss": 1.0}})");
    v1::CompleteJobResponse cr_resp;
    if (Timed(*t, kComplete, [&](grpc::ClientContext* c) { return stub->CompleteJob(c, cr, &cr_resp); })) {
      ++t->jobs_completed;
    }
  }
}

double Percentile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

// A sweep of `n` trivial jobs with fresh seeds (so dedupe never merges them).
nlohmann::json LoadSweep(int64_t first_seed, int n) {
  nlohmann::json seeds = nlohmann::json::array();
  for (int i = 0; i < n; ++i) seeds.push_back(first_seed + i);
  return {{"name", "load-" + std::to_string(first_seed)},
          {"base", {{"data", {{"name", "synthetic"}}}, {"train", {{"epochs", 1}}}}},
          {"list", nlohmann::json::array({nlohmann::json::object()})},
          {"seeds", seeds}};
}

TEST(Load, SimulatedWorkersAgainstOneCoordinatorWithoutErrors) {
  const int seconds_to_run = EnvInt("LCSWEEP_LOAD_SECONDS", 60);
  const int n_workers = EnvInt("LCSWEEP_LOAD_WORKERS", 200);
  const int n_channels = std::min(n_workers, EnvInt("LCSWEEP_LOAD_CHANNELS", n_workers));
  std::printf("[load] %d simulated workers on %d channels for %d s\n", n_workers, n_channels,
              seconds_to_run);
  // Leases far longer than the test: no expiry can interfere with the counts.
  LocalCluster cluster(ClusterOptions{/*lease_seconds=*/600, {}, ""});

  // The feeder keeps at least a few thousand jobs queued.
  constexpr int kSweepJobs = 2000;
  int64_t next_seed = 1;
  std::vector<int64_t> sweeps;
  auto submit = [&] {
    v1::SubmitSweepResponse resp;
    grpc::Status st = cluster.Submit(LoadSweep(next_seed, kSweepJobs), &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(resp.jobs_size(), kSweepJobs);
    next_seed += kSweepJobs;
    sweeps.push_back(resp.sweep_id());
  };
  submit();
  submit();
  auto queued = [&] {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + seconds(30));
    v1::ListJobsRequest req;
    req.add_states(v1::JOB_STATE_QUEUED);
    req.set_page_size(1);
    v1::ListJobsResponse resp;
    grpc::Status st = cluster.stub().ListJobs(&ctx, req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.total();
  };

  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < n_channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", i);  // distinct channels, not one shared subchannel
    channels.push_back(grpc::CreateCustomChannel(cluster.address(), grpc::InsecureChannelCredentials(), args));
  }
  std::atomic<bool> stop{false};
  std::vector<Tally> tallies(static_cast<size_t>(n_workers));
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int i = 0; i < n_workers; ++i) {
    threads.emplace_back(SimulatedWorker, i, channels[static_cast<size_t>(i % n_channels)], &stop,
                         &tallies[static_cast<size_t>(i)]);
  }
  const auto end = start + seconds(seconds_to_run);
  while (Clock::now() < end) {
    if (queued() < 3000) submit();
    std::this_thread::sleep_for(milliseconds(500));
  }
  stop = true;
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  // Merge and print.
  Tally all;
  for (auto& t : tallies) {
    for (int m = 0; m < kNumMethods; ++m) {
      all.latency_ms[m].insert(all.latency_ms[m].end(), t.latency_ms[m].begin(), t.latency_ms[m].end());
    }
    for (const auto& [k, n] : t.errors) all.errors[k] += n;
    all.jobs_completed += t.jobs_completed;
    all.empty_leases += t.empty_leases;
    all.points += t.points;
  }
  int64_t total_rpcs = 0;
  std::printf("\n[load] %d workers, %.1f s, coordinator on loopback (SQLite WAL)\n", n_workers, elapsed);
  std::printf("[load] %-16s %10s %10s %10s %10s\n", "rpc", "calls", "per_s", "p50_ms", "p99_ms");
  for (int m = 0; m < kNumMethods; ++m) {
    auto& v = all.latency_ms[m];
    total_rpcs += static_cast<int64_t>(v.size());
    const size_t n = v.size();
    const double p50 = Percentile(v, 0.50), p99 = Percentile(v, 0.99);
    std::printf("[load] %-16s %10zu %10.1f %10.2f %10.2f\n", kMethodNames[m], n, n / elapsed, p50, p99);
  }
  std::printf("[load] %-16s %10lld %10.1f\n", "all", static_cast<long long>(total_rpcs), total_rpcs / elapsed);
  std::printf("[load] jobs completed      %lld (%.1f /s); empty long polls %lld\n",
              static_cast<long long>(all.jobs_completed), all.jobs_completed / elapsed,
              static_cast<long long>(all.empty_leases));
  std::printf("[load] metric points       %lld (%.1f /s)\n", static_cast<long long>(all.points),
              all.points / elapsed);
  std::printf("[load] errors              %s\n", all.errors.empty() ? "none" : "");
  for (const auto& [k, n] : all.errors) std::printf("[load]   %-40s %lld\n", k.c_str(), static_cast<long long>(n));
  std::fflush(stdout);

  EXPECT_TRUE(all.errors.empty()) << "RPC errors under load (see the table)";
  EXPECT_GT(all.jobs_completed, 0);
  EXPECT_EQ(static_cast<int64_t>(all.latency_ms[kRegister].size()), n_workers);
  // What the coordinator stored agrees with what the workers were told.
  int64_t succeeded = 0, running = 0;
  for (int64_t id : sweeps) {
    grpc::ClientContext ctx;
    v1::GetSweepRequest req;
    req.set_sweep_id(id);
    v1::GetSweepResponse resp;
    ASSERT_TRUE(cluster.stub().GetSweep(&ctx, req, &resp).ok());
    succeeded += resp.sweep().counts().succeeded();
    running += resp.sweep().counts().running();
  }
  EXPECT_EQ(succeeded, all.jobs_completed) << "succeeded jobs in the coordinator vs completions acknowledged";
  EXPECT_EQ(running, 0) << "every leased job was completed";
  EXPECT_EQ(all.points, all.jobs_completed * kReportsPerJob * kPointsPerReport);
}

}  // namespace
}  // namespace lcsweep::testing
