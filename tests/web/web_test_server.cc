// lcsweep-web-test-server: the dashboard's browser-test host. Runs the real
// Coordinator on a real SqliteStore (a fresh file) with the real HttpServer,
// seeds it through the Coordinator API (tests/web/seed_data.h), prints one
// JSON line with the port and the seeded ids, then acts as a simulated
// worker on commands read from stdin, one per line:
//   report JOB NAME STEP VALUE   ReportMetrics with the job's lease token
//   fail JOB                     FailJob (retryable=false)
//   quit
// Each command answers one line: "ok" or "error: <status>".
// It exists so the browser tests need no gRPC client; the lcsweep-coordinator
// binary wires the same HttpServer to the same Coordinator.
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "server/core/clock.h"
#include "server/core/coordinator.h"
#include "server/auth/credentials.h"
#include "server/http/http_server.h"
#include "server/store/sqlite_store.h"
#include "tests/web/seed_data.h"

namespace {

// E in {1, ..., 128} x {frozen, learned} LC, plus the plain learned baseline,
// on Fashion-MNIST with ResNet-20-16, over 3 seeds: 17 x 3 = 51 jobs.
std::string DefaultSpec() {
  // The baseline first: leases go in submission order, so the jobs the
  // test leaves queued or running are the last LC ones.
  nlohmann::json list = nlohmann::json::array({{{"model.conv.mode", "learned"}}});
  for (int e : {1, 2, 4, 8, 16, 32, 64, 128}) {
    for (const char* sp : {"frozen", "learned"}) {
      list.push_back({{"model.conv.mode", "lc"}, {"model.conv.lc_rate", e}, {"model.conv.spatial", sp}});
    }
  }
  nlohmann::json spec = {
      {"name", "lc_rate_fashion_mnist"},
      {"description", "LC rate x spatial mode on Fashion-MNIST, ResNet-20-16, plain baseline, 3 seeds"},
      {"tags", {"test", "lc_rate"}},
      {"base",
       {{"data", {{"name", "fashion_mnist"}}},
        {"model", {{"depth", 20}, {"width", 16}}},
        {"eval", {{"fgsm_eps", {1 / 255.0, 2 / 255.0, 4 / 255.0, 8 / 255.0}},
                  {"pgd_eps", {1 / 255.0, 2 / 255.0, 4 / 255.0, 8 / 255.0}},
                  {"corruptions", {"all"}}}}}},
      {"list", list},
      {"seeds", {0, 1, 2}}};
  return spec.dump();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lcsweep dashboard test host"};
  std::string db, web_root, listen = "127.0.0.1:0", admin_token = "admin-secret", reader_token = "reader-secret";
  int64_t fail = 2, running = 2, queued = 4, steps = 200;
  app.add_option("--db", db, "SQLite file to create (must not exist)")->required();
  app.add_option("--web-root", web_root, "dashboard files (default: the build tree's)");
  app.add_option("--listen", listen, "HOST:PORT for the dashboard");
  app.add_option("--admin-token", admin_token, "bearer token with the admin role");
  app.add_option("--reader-token", reader_token, "bearer token with the read-only role");
  app.add_option("--fail", fail, "jobs to fail");
  app.add_option("--running", running, "jobs left running");
  app.add_option("--queued", queued, "jobs left queued");
  app.add_option("--steps", steps, "points per curve of a completed job");
  CLI11_PARSE(app, argc, argv);

  auto store = lcsweep::SqliteStore::Open(db);
  if (!store.ok()) {
    std::cerr << "cannot open " << db << ": " << store.status().ToString() << "\n";
    return 1;
  }
  lcsweep::CoordinatorOptions copts;
  copts.lease_ttl_ms = 3'600'000;  // the simulated workers never heartbeat
  auto coordinator = lcsweep::Coordinator::Create(store->get(), lcsweep::SystemClock::Get(), copts);
  if (!coordinator.ok()) {
    std::cerr << "coordinator: " << coordinator.status().ToString() << "\n";
    return 1;
  }
  lcsweep::webtest::SeedOptions seed;
  seed.spec_json = DefaultSpec();
  seed.fail = fail;
  seed.keep_running = running;
  seed.steps_per_job = steps;
  // complete = all but failed, running and queued ones
  seed.complete = 51 - fail - running - queued;
  auto seeded = lcsweep::webtest::Seed(coordinator->get(), seed);
  if (!seeded.ok()) {
    std::cerr << "seeding failed: " << seeded.status().ToString() << "\n";
    return 1;
  }

  lcsweep::HttpOptions hopts;
  hopts.listen = listen;
  hopts.web_root = web_root;
  auto tokens_table = lcsweep::auth::TokenTable::Parse(
      lcsweep::auth::TokenFileLine(admin_token, lcsweep::auth::Role::kAdmin, "admin") + "\n" +
      lcsweep::auth::TokenFileLine(reader_token, lcsweep::auth::Role::kReadOnly, "reader") + "\n");
  if (!tokens_table.ok()) {
    std::cerr << "tokens: " << tokens_table.status().ToString() << "\n";
    return 1;
  }
  hopts.credentials = lcsweep::auth::Credentials::FromTable(std::move(tokens_table).value());
  lcsweep::HttpServer http(coordinator->get(), hopts);
  if (auto s = http.Start(); !s.ok()) {
    std::cerr << "http: " << s.ToString() << "\n";
    return 1;
  }
  std::map<int64_t, std::string> tokens;
  nlohmann::json running_ids = nlohmann::json::array();
  for (const auto& r : seeded->running) {
    tokens[r.job_id] = r.token;
    running_ids.push_back(r.job_id);
  }
  nlohmann::json ready = {{"port", http.port()},
                          {"sweep_id", seeded->sweep_id},
                          {"jobs", seeded->job_ids},
                          {"succeeded", seeded->succeeded},
                          {"failed", seeded->failed},
                          {"running", running_ids},
                          {"metric_points", seeded->metric_points},
                          {"finished_cpu_seconds", seeded->finished_cpu_seconds},
                          {"web_root", http.web_root()}};
  std::cout << ready.dump() << std::endl;

  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    if (cmd == "quit") break;
    lcsweep::Status st = lcsweep::InvalidArgumentError("unknown command '" + cmd + "'");
    int64_t job = 0;
    if (cmd == "report") {
      lcsweep::MetricPoint p;
      in >> job >> p.name >> p.step >> p.value;
      st = tokens.count(job) ? (*coordinator)->ReportMetrics(tokens[job], {p})
                             : lcsweep::NotFoundError("no lease held for job " + std::to_string(job));
    } else if (cmd == "fail") {
      in >> job;
      st = tokens.count(job) ? (*coordinator)->FailJob(tokens[job], "failed by the test", false).status()
                             : lcsweep::NotFoundError("no lease held for job " + std::to_string(job));
    }
    std::cout << (st.ok() ? std::string("ok") : "error: " + st.ToString()) << std::endl;
  }
  http.Stop();
  (*coordinator)->Shutdown();
  return 0;
}
