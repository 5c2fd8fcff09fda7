// Dashboard API benchmark: response times of the requests the sweep page and
// the job page make, through real HTTP on loopback, against a real
// Coordinator + SqliteStore seeded through the Coordinator API with a sweep
// of --jobs jobs (all succeeded, with full result documents) and --curve-jobs
// jobs whose 4 training curves have --points points each (> 1,000,000 metric
// points in the database by default).
//
// Each row is compared in the same run with the slower alternative the
// dashboard avoids: the whole job list instead of one page, and every metric
// point instead of the server's LTTB down-sampling.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "server/core/clock.h"
#include "server/core/coordinator.h"
#include "server/http/http_server.h"
#include "server/store/sqlite_store.h"
#include "tests/web/seed_data.h"

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

struct Timing {
  double first_ms = 0, median_ms = 0, p90_ms = 0;
  size_t bytes = 0;
  int status = 0;
};

Timing Measure(httplib::Client& cli, const std::string& path, int repeats) {
  std::vector<double> ms;
  Timing t;
  for (int i = 0; i < repeats; ++i) {
    const auto t0 = Clock::now();
    auto res = cli.Get(path.c_str());
    const double d = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (!res) {
      std::fprintf(stderr, "request failed: %s\n", path.c_str());
      std::exit(1);
    }
    t.status = res->status;
    t.bytes = res->body.size();
    if (i == 0) t.first_ms = d;
    ms.push_back(d);
  }
  std::sort(ms.begin(), ms.end());
  t.median_ms = ms[ms.size() / 2];
  t.p90_ms = ms[std::min(ms.size() - 1, ms.size() * 9 / 10)];
  return t;
}

void Row(const char* what, const Timing& t) {
  std::printf("| %-62s | %6d | %9.1f | %9.1f | %9.1f | %11zu |\n", what, t.status, t.first_ms, t.median_ms, t.p90_ms,
              t.bytes);
}

double Seconds(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dashboard API benchmark"};
  int64_t jobs = 10000, points = 100000, curve_jobs = 3;
  int repeats = 15;
  std::string dir = (std::filesystem::temp_directory_path() / "lcsweep_web_bench").string();
  app.add_option("--jobs", jobs, "jobs in the big sweep (rounded up to the grid)");
  app.add_option("--points", points, "points per training curve of the curve jobs");
  app.add_option("--curve-jobs", curve_jobs, "jobs with long curves (4 curves each)");
  app.add_option("--repeats", repeats, "requests per row");
  app.add_option("--dir", dir, "scratch folder (removed first)");
  CLI11_PARSE(app, argc, argv);

  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto store = lcsweep::SqliteStore::Open(dir + "/bench.db");
  if (!store.ok()) return std::fprintf(stderr, "%s\n", store.status().ToString().c_str()), 1;
  lcsweep::CoordinatorOptions copts;
  copts.lease_ttl_ms = 3'600'000;
  auto coordinator = lcsweep::Coordinator::Create(store->get(), lcsweep::SystemClock::Get(), copts);
  if (!coordinator.ok()) return std::fprintf(stderr, "%s\n", coordinator.status().ToString().c_str()), 1;

  // 10 LC rates x 2 spatial x 7 inits x 3 kernel sizes = 420 configs, x seeds.
  const int64_t seeds = std::max<int64_t>(1, (jobs + 419) / 420);
  json seed_list = json::array();
  for (int64_t s = 0; s < seeds; ++s) seed_list.push_back(s);
  json big = {{"name", "bench_big"},
              {"base", {{"data", {{"name", "cifar10"}, {"root", "/data/cifar10"}}}}},
              {"grid",
               {{"model.conv.lc_rate", {1, 2, 4, 8, 16, 32, 64, 128, 256, 512}},
                {"model.conv.spatial", {"frozen", "learned"}},
                {"model.conv.init", {"kaiming_uniform", "kaiming_normal", "uniform", "normal", "orthogonal", "sign",
                                     "gaussian_envelope"}},
                {"model.kernel_size", {3, 5, 7}}}},
              {"seeds", seed_list}};
  auto t0 = Clock::now();
  lcsweep::webtest::SeedOptions o;
  o.spec_json = big.dump();
  o.steps_per_job = 0;
  auto seeded = lcsweep::webtest::Seed(coordinator->get(), o);
  if (!seeded.ok()) return std::fprintf(stderr, "seed: %s\n", seeded.status().ToString().c_str()), 1;
  std::printf("seeded %zu succeeded jobs with results in %.1f s\n", seeded->succeeded.size(), Seconds(t0));

  t0 = Clock::now();
  json curves = {{"name", "bench_curves"},
                 {"base", {{"data", {{"name", "fashion_mnist"}}}}},
                 {"grid", {{"model.conv.lc_rate", {8}}}},
                 {"seeds", json::array()}};
  for (int64_t s = 0; s < curve_jobs; ++s) curves["seeds"].push_back(s);
  o.spec_json = curves.dump();
  o.steps_per_job = points;
  o.epochs = 75;
  auto curve_seeded = lcsweep::webtest::Seed(coordinator->get(), o);
  if (!curve_seeded.ok()) return std::fprintf(stderr, "seed: %s\n", curve_seeded.status().ToString().c_str()), 1;
  std::printf("seeded %zu jobs with %lld metric points in %.1f s (%.0f points/s through ReportMetrics)\n",
              curve_seeded->succeeded.size(), static_cast<long long>(curve_seeded->metric_points), Seconds(t0),
              double(curve_seeded->metric_points) / Seconds(t0));

  lcsweep::HttpOptions hopts;
  hopts.listen = "127.0.0.1:0";
  lcsweep::HttpServer http(coordinator->get(), hopts);
  if (auto s = http.Start(); !s.ok()) return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;
  httplib::Client cli("127.0.0.1", http.port());
  cli.set_read_timeout(120, 0);

  const std::string sweep = "/api/v1/sweeps/" + std::to_string(seeded->sweep_id);
  const std::string job = "/api/v1/jobs/" + std::to_string(curve_seeded->succeeded.at(0));
  const std::string names = "names=train/loss,train/acc,train/lr,train/images_per_s";
  std::printf("\nDashboard API over HTTP on loopback: %zu jobs in the sweep, %lld points per curve; times in ms\n",
              seeded->job_ids.size(), static_cast<long long>(points));
  std::printf("| %-62s | %6s | %9s | %9s | %9s | %11s |\n", "request", "status", "first", "median", "p90", "bytes");
  std::printf("|%s|%s|%s|%s|%s|%s|\n", std::string(64, '-').c_str(), std::string(8, '-').c_str(),
              std::string(11, '-').c_str(), std::string(11, '-').c_str(), std::string(11, '-').c_str(),
              std::string(13, '-').c_str());
  Row("sweeps list (progress counts)", Measure(cli, "/api/v1/sweeps", repeats));
  // The first job-table request builds the per-job cache (parses every config and result once);
  // the first sweep-detail request aggregates the results over seeds (Coordinator::GetResults).
  Timing page = Measure(cli, sweep + "/jobs?limit=50", repeats);
  Row("job table, page of 50 [first: waits for cache fill at start]", page);
  Row("sweep detail (axes, figures)", Measure(cli, sweep, repeats));
  Row("job table, page of 50, filter lc_rate>=64 spatial=frozen", Measure(cli, sweep + "/jobs?limit=50&filter=lc_rate%3E%3D64%20spatial%3Dfrozen", repeats));
  Row("job table, page of 50, sorted by evaluation.clean.accuracy desc", Measure(cli, sweep + "/jobs?limit=50&sort=metric&order=desc&metric=evaluation.clean.accuracy", repeats));
  // The slower alternative: ship every job and let the browser page/sort.
  Timing all_pages;
  {
    std::vector<double> ms;
    for (int r = 0; r < std::max(3, repeats / 3); ++r) {
      const auto a = Clock::now();
      size_t bytes = 0;
      for (int64_t off = 0; off < static_cast<int64_t>(seeded->job_ids.size()); off += 1000) {
        auto res = cli.Get((sweep + "/jobs?limit=1000&offset=" + std::to_string(off)).c_str());
        bytes += res ? res->body.size() : 0;
      }
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a).count());
      all_pages.bytes = bytes;
    }
    std::sort(ms.begin(), ms.end());
    all_pages.first_ms = ms.front();
    all_pages.median_ms = ms[ms.size() / 2];
    all_pages.p90_ms = ms.back();
    all_pages.status = 200;
  }
  Row("  slower: every job of the sweep (no pagination)", all_pages);
  Timing abl = Measure(cli, sweep + "/ablation", repeats);
  Row("ablation plot (mean +- stderr over seeds)", abl);
  Row("ablation plot, x = init, lines = kernel size", Measure(cli, sweep + "/ablation?x=model.conv.init&series=model.kernel_size", repeats));
  Row("pivot table with published numbers", Measure(cli, sweep + "/results", repeats));
  const std::string k = std::to_string(points / 1000) + "k";
  // A finished job's curves never change: the server caches the down-sampled
  // series, so "first" is the real cost (SQLite read + LTTB) and the median the cached one.
  Timing curves_ds = Measure(cli, job + "/metrics?" + names + "&max_points=1000", repeats);
  Row(("job curves: 4 x " + k + " points, LTTB to 1000 each [first: uncached]").c_str(), curves_ds);
  Timing curves_all = Measure(cli, job + "/metrics?" + names + "&max_points=0", std::max(3, repeats / 3));
  Row(("  slower: 4 x " + k + " points, no down-sampling").c_str(), curves_all);
  Row("job detail (config, result)", Measure(cli, job, repeats));

  std::printf("\nratios: pagination %.1fx faster than the full list (%.0fx fewer bytes); down-sampling %.1fx faster "
              "uncached, %.0fx cached (%.0fx fewer bytes)\n",
              all_pages.median_ms / page.median_ms, double(all_pages.bytes) / double(page.bytes),
              curves_all.median_ms / curves_ds.first_ms, curves_all.median_ms / curves_ds.median_ms,
              double(curves_all.bytes) / double(curves_ds.bytes));
  http.Stop();
  (*coordinator)->Shutdown();
  std::filesystem::remove_all(dir);
  return 0;
}
