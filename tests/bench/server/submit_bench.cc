// submit_bench: what a large submission costs everybody else. A sweep of N
// jobs (10k, 50k, 100k: the documented maximum) is submitted while 16
// workers heartbeat their leases every 20 ms, on a real SQLite file (WAL).
// Printed per N: the submission's wall time, and the heartbeats' p50 / p99 /
// max latency during it, writing the new jobs in chunks of 1,000 (one
// transaction each, the state mutex released in between: the coordinator's
// way, CoordinatorOptions::submit_chunk_jobs) against one transaction for
// the whole submission (submit_chunk_jobs = 0, the slower alternative), in
// one run.
//
// Usage: submit_bench [--quick]   (quick: 10k and 50k only)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/logging.h"
#include "server/core/clock.h"
#include "server/core/coordinator.h"
#include "server/store/sqlite_store.h"

namespace lcsweep {
namespace {

using SteadyClock = std::chrono::steady_clock;

double Ms(SteadyClock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5))];
}

// `jobs` distinct configs: a grid of lc_rate x seeds.
std::string Spec(const std::string& name, int jobs) {
  nlohmann::json spec;
  spec["name"] = name;
  spec["base"] = {{"data", {{"name", "synthetic"}}}, {"train", {{"epochs", 1}}}};
  spec["grid"] = {{"model.conv.lc_rate", {1, 2, 4, 8, 16, 32, 64, 128, 256, 512}}};
  std::vector<int> seeds;
  for (int i = 0; i < jobs / 10; ++i) seeds.push_back(i);
  spec["seeds"] = seeds;
  return spec.dump();
}

struct Row {
  double submit_s = 0;
  double p50 = 0, p99 = 0, max = 0;
  size_t beats = 0;
  double lock_max = 0;  // longest wait for the state mutex alone (Version())
};

Row Run(int jobs, int chunk_jobs) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "lcsweep-submit-XXXXXX").string();
  const std::string dir = mkdtemp(tmpl.data());
  auto store = std::move(SqliteStore::Open(dir + "/bench.db")).value();
  CoordinatorOptions options;
  options.submit_chunk_jobs = chunk_jobs;
  auto coord = std::move(Coordinator::Create(store.get(), SystemClock::Get(), options)).value();
  SubmitSweepRequest warm;
  warm.spec_json = Spec("running", 20);
  (void)coord->SubmitSweep(warm);
  WorkerRecord w;
  w.name = "w";
  const int64_t worker = coord->RegisterWorker(w)->worker_id;
  std::vector<std::string> tokens;
  for (int i = 0; i < 16; ++i) tokens.push_back((*coord->LeaseJob({worker, true, false, 0, ""}))->token);

  std::atomic<bool> stop{false};
  std::vector<std::vector<double>> lat(tokens.size());
  std::vector<std::thread> beaters;
  for (size_t i = 0; i < tokens.size(); ++i) {
    beaters.emplace_back([&, i] {
      HeartbeatRequest hb;
      hb.token = tokens[i];
      while (!stop.load()) {
        auto t0 = SteadyClock::now();
        (void)coord->Heartbeat(hb);
        lat[i].push_back(Ms(SteadyClock::now() - t0));
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  for (auto& l : lat) l.clear();  // only the heartbeats during the submission count
  // The state mutex alone (no SQLite): tells a lock stall from a store one.
  std::vector<double> lock_lat;
  std::atomic<bool> probing{true};
  std::thread prober([&] {
    while (probing.load()) {
      auto t0 = SteadyClock::now();
      (void)coord->Version();
      lock_lat.push_back(Ms(SteadyClock::now() - t0));
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  SubmitSweepRequest big;
  big.spec_json = Spec("big", jobs);
  auto t0 = SteadyClock::now();
  auto result = coord->SubmitSweep(big);
  Row row;
  row.submit_s = Ms(SteadyClock::now() - t0) / 1000;
  stop = true;
  probing = false;
  prober.join();
  for (auto& t : beaters) t.join();
  row.lock_max = lock_lat.empty() ? 0 : *std::max_element(lock_lat.begin(), lock_lat.end());
  if (!result.ok() || result->jobs_created + result->jobs_reused != jobs)
    std::fprintf(stderr, "submit of %d jobs failed: %s\n", jobs, result.status().ToString().c_str());
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  row.beats = all.size();
  row.p50 = Percentile(all, 0.5);
  row.p99 = Percentile(all, 0.99);
  row.max = all.empty() ? 0 : *std::max_element(all.begin(), all.end());
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
  std::printf("submit_bench: a large SubmitSweep while 16 leases heartbeat every 20 ms "
              "(SQLite WAL, in process)\n\n");
  std::printf("%8s  %-18s %9s %8s %9s %9s %9s %11s\n", "jobs", "written as", "submit_s", "beats",
              "hb_p50ms", "hb_p99ms", "hb_max_ms", "lock_max_ms");
  std::vector<int> sizes = quick ? std::vector<int>{10'000, 50'000}
                                 : std::vector<int>{10'000, 50'000, 100'000};
  for (int jobs : sizes) {
    Row whole = Run(jobs, /*chunk_jobs=*/0);
    Row chunked = Run(jobs, /*chunk_jobs=*/1000);
    for (const auto& [name, r] : {std::pair<const char*, Row>{"one transaction", whole},
                                  std::pair<const char*, Row>{"chunks of 1,000", chunked}})
      std::printf("%8d  %-18s %9.2f %8zu %9.2f %9.2f %9.1f %11.1f\n", jobs, name, r.submit_s,
                  r.beats, r.p50, r.p99, r.max, r.lock_max);
    std::printf("%8s  longest heartbeat stall: %.1fx shorter in chunks; submission %.2fx the time\n",
                "", whole.max / std::max(chunked.max, 0.001),
                chunked.submit_s / std::max(whole.submit_s, 0.001));
  }
  return 0;
}
