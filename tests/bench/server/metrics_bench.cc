// Benchmark (not a test): what the Prometheus registry costs on the hot
// paths, against the slower alternative in the same run. T threads update
// one series N times each:
//   counter, cached pointer     Counter::Inc (a CAS on an atomic double)
//   counter, With() per call    the family's map lookup under its mutex
//                               (what the RPC interceptor does once per call)
//   counter, mutex + double     the plain alternative: a std::mutex-guarded double
//   histogram, cached pointer   Histogram::Observe (bucket search + 3 atomics)
// and one Expose() of a registry with the coordinator's size (about 30
// families, 300 series).
//
//   metrics_bench [--threads T] [--updates N]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics_registry.h"

using namespace lcsweep;
using Clock = std::chrono::steady_clock;

namespace {

// Nanoseconds per update with `threads` threads doing `n` updates each.
double Run(int threads, int64_t n, const std::function<void()>& update) {
  const auto start = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int64_t i = 0; i < n; ++i) update();
    });
  }
  for (auto& t : pool) t.join();
  return std::chrono::duration<double, std::nano>(Clock::now() - start).count() / (double(n) * threads);
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2;
  int64_t n = 2'000'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--updates")) n = std::atoll(argv[i + 1]);
  }
  MetricsRegistry r;
  CounterFamily* family = r.AddCounter("c_total", "x", {"method", "code"});
  Counter* cached = family->With({"/lcsweep.v1.WorkerService/Heartbeat", "OK"});
  Histogram* h = r.AddHistogram("h_seconds", "x", {}, HistogramBuckets::Latency())->With({});
  std::mutex mu;
  double plain = 0;
  const std::vector<std::string> labels = {"/lcsweep.v1.WorkerService/Heartbeat", "OK"};

  std::printf("%d threads x %lld updates of one series\n\n", threads, static_cast<long long>(n));
  std::printf("%-32s %10s\n", "update", "ns/update");
  const double c1 = Run(threads, n, [&] { cached->Inc(); });
  const double c2 = Run(threads, n / 4, [&] { family->With(labels)->Inc(); });
  const double c3 = Run(threads, n, [&] {
    std::lock_guard<std::mutex> lock(mu);
    plain += 1;
  });
  const double c4 = Run(threads, n, [&] { h->Observe(0.003); });
  std::printf("%-32s %10.1f\n", "counter, cached pointer", c1);
  std::printf("%-32s %10.1f\n", "counter, With() per call", c2);
  std::printf("%-32s %10.1f\n", "counter, mutex + double", c3);
  std::printf("%-32s %10.1f\n", "histogram, cached pointer", c4);
  if (cached->Value() != double(threads) * n + double(threads) * (n / 4) || plain != double(threads) * n) {
    std::printf("\nERROR: lost updates\n");
    return 1;
  }

  MetricsRegistry big;
  for (int f = 0; f < 30; ++f) {
    CounterFamily* fam = big.AddCounter("family_" + std::to_string(f) + "_total", "x", {"method"});
    for (int s = 0; s < 10; ++s) fam->With({"/m" + std::to_string(s)})->Inc(s);
  }
  HistogramFamily* hist = big.AddHistogram("rpc_seconds", "x", {"method"}, HistogramBuckets::Latency());
  for (int s = 0; s < 25; ++s) hist->With({"/m" + std::to_string(s)})->Observe(0.01);
  const auto start = Clock::now();
  size_t bytes = 0;
  for (int i = 0; i < 100; ++i) bytes = big.Expose().size();
  std::printf("\nExpose() of 325 series (%zu bytes): %.1f us\n", bytes,
              std::chrono::duration<double, std::micro>(Clock::now() - start).count() / 100);
  return 0;
}
