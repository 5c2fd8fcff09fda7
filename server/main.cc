// lcsweep-coordinator: the gRPC coordinator (plus the dashboard's HTTP port
// when server/http is built), on one SQLite file.
//
//   lcsweep-coordinator [--config FILE.json] [--listen HOST:PORT] [--db PATH]
//       [--artifacts DIR] [--tokens-file FILE] [--tls-cert PEM --tls-key PEM
//       [--tls-client-ca PEM]]
//       [--lease-seconds N] [--reap-interval-seconds N] [--http-listen HOST:PORT]
//       [--log-level LEVEL] [--insecure] [--metrics-public] ...
//
// --config takes a JSON object with the same keys as the long flags (either
// "lease-seconds" or "lease_seconds"); flags given on the command line win.
//
// Both ports (gRPC --listen, dashboard --http-listen) listen on loopback by
// default and share --tokens-file and --tls-cert/--tls-key. A non-loopback
// address is refused unless both TLS and --tokens-file are given; --insecure
// allows it anyway and logs a warning per port (for a trusted private
// network only: tokens then cross it in plaintext). --tls-client-ca makes the
// gRPC port require client certificates (mutual TLS); tokens and roles still
// apply on top of them.
//
// Prometheus metrics (docs/metrics.md) are at GET /metrics on the dashboard
// port; they need a token that may read unless --metrics-public.
//
// Prints "lcsweep-coordinator listening on HOST:PORT" (the bound port, also
// with port 0) on stdout once it serves. SIGTERM / SIGINT: stop accepting,
// finish in-flight calls (up to --shutdown-grace-seconds), flush metric
// batches, close the database, exit 0. SIGHUP: re-read --tokens-file (a bad
// file keeps the tokens in force and logs why); removed tokens stop working
// at once on both ports, their dashboard sessions included.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/logging.h"
#include "common/metrics_registry.h"
#include "server/core/clock.h"
#include "server/core/coordinator.h"
#include "server/metrics/metered_store.h"
#include "server/rpc/server.h"
#include "server/store/sqlite_store.h"

#include "server/http/http_server.h"

namespace lcsweep {
namespace {

struct Flags {
  std::string config;
  std::string listen = "127.0.0.1:50051";
  std::string db = "./lcsweep.db";
  std::string artifacts = "./lcsweep-artifacts";
  std::string tokens_file;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  int64_t lease_seconds = 60;
  int64_t reap_interval_seconds = 1;
  std::string http_listen = "127.0.0.1:8080";
  std::string log_level;
  bool insecure = false;
  bool metrics_public = false;
  int64_t max_message_mb = 16;
  int64_t keep_checkpoints = 2;
  int64_t keep_models = 0;
  int64_t shutdown_grace_seconds = 10;
  bool sync_full = false;
  double session_hours = 12;  // fractional: 0.25 = 15 minutes
  int64_t max_lost_leases = 20;
  int64_t submit_chunk_jobs = 1000;
  std::string fault_crash_after;  // tests only: "METHOD:N"
};

// --fault-crash-after METHOD:N: the process dies like kill -9 (_exit, no
// flush, no destructors) right after the Nth committed METHOD call, before its
// reply is sent. For the crash-point fault tests; never set in production.
StatusOr<std::function<void(const char*)>> CrashHook(const std::string& spec) {
  const size_t colon = spec.rfind(':');
  int64_t n = 0;
  try {
    if (colon == std::string::npos || colon == 0) throw std::invalid_argument("shape");
    n = std::stoll(spec.substr(colon + 1));
  } catch (const std::exception&) {
    return InvalidArgumentError("--fault-crash-after \"" + spec + "\": expected METHOD:N, e.g. "
                                "ReportMetrics:3");
  }
  if (n < 1) return InvalidArgumentError("--fault-crash-after: N must be >= 1");
  auto method = std::make_shared<std::string>(spec.substr(0, colon));
  auto seen = std::make_shared<std::atomic<int64_t>>(0);
  return std::function<void(const char*)>([method, seen, n](const char* m) {
    if (*method == m && seen->fetch_add(1) + 1 == n) {
      std::fprintf(stderr, "fault: crashing after committed %s #%lld\n", m,
                   static_cast<long long>(n));
      _exit(137);
    }
  });
}

bool IsLoopback(const std::string& listen) {
  std::string host = listen.substr(0, listen.rfind(':'));
  if (!host.empty() && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// Applies the JSON config file to every flag not given on the command line.
Status ApplyConfig(const std::string& path, CLI::App& app) {
  std::ifstream in(path);
  if (!in) return NotFoundError("cannot read config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return InvalidArgumentError(path + ": expected a JSON object of flag values");
  std::vector<std::string> errors;
  for (const auto& [key, value] : j.items()) {
    std::string name = key;
    for (char& c : name) if (c == '_') c = '-';
    CLI::Option* opt = nullptr;
    try {
      opt = app.get_option("--" + name);
    } catch (const CLI::OptionNotFound&) {
    }
    if (opt == nullptr || name == "config") {
      errors.push_back(key + ": unknown key; expected one of the long flag names (see --help)");
      continue;
    }
    if (opt->count() > 0) continue;  // the command line wins
    std::string text;
    if (value.is_string()) text = value.get<std::string>();
    else if (value.is_boolean()) text = value.get<bool>() ? "true" : "false";
    else if (value.is_number_integer()) text = std::to_string(value.get<int64_t>());
    else {
      errors.push_back(key + ": expected a string, an integer or a boolean");
      continue;
    }
    try {
      opt->clear();
      opt->add_result(text);
      opt->run_callback();
    } catch (const CLI::Error& e) {
      errors.push_back(key + ": " + e.what());
    }
  }
  if (!errors.empty()) {
    std::string msg = path + ":";
    for (const auto& e : errors) msg += "\n  " + e;
    return InvalidArgumentError(msg);
  }
  return OkStatus();
}

// Refuses (false) a non-loopback address served without TLS or without
// tokens unless --insecure; warns when --insecure lets it through.
bool CheckExposure(const Flags& f, const std::string& address, const char* port_name) {
  if (address.empty() || IsLoopback(address)) return true;
  const bool tls = !f.tls_cert.empty() && !f.tls_key.empty();
  const bool tokens = !f.tokens_file.empty();
  if (tls && tokens) return true;
  std::string missing = !tls && !tokens ? "TLS (--tls-cert, --tls-key) and --tokens-file"
                        : !tls          ? "TLS (--tls-cert, --tls-key)"
                                        : "--tokens-file";
  if (!f.insecure) {
    std::cerr << "error: refusing to serve the " << port_name << " port on " << address << " without " << missing
              << "; bind 127.0.0.1, give them, or pass --insecure for a trusted private network\n";
    return false;
  }
  GetLogger("coordinator")
      ->warn("event=insecure_listen {} {} {}", Kv("port", port_name), Kv("address", address),
             Kv("missing", missing));
  return true;
}

int Run(const Flags& f) {
  auto log = GetLogger("coordinator");
  if (!CheckExposure(f, f.listen, "gRPC") || !CheckExposure(f, f.http_listen, "dashboard")) return 2;
  const int64_t session_seconds = std::llround(f.session_hours * 3600);
  if (!(f.session_hours > 0) || session_seconds < 1) {
    std::cerr << "error: --session-hours must be at least one second (e.g. 0.25 = 15 minutes)\n";
    return 2;
  }
  if (f.lease_seconds < 1 || f.reap_interval_seconds < 0 || f.max_message_mb < 1 ||
      f.keep_checkpoints < 1 || f.shutdown_grace_seconds < 0) {
    std::cerr << "error: --lease-seconds, --max-message-mb and --keep-checkpoints must be >= 1; "
                 "--reap-interval-seconds and --shutdown-grace-seconds >= 0\n";
    return 2;
  }
  rpc::RpcServerOptions ro;
  ro.listen = f.listen;
  ro.tls_cert_file = f.tls_cert;
  ro.tls_key_file = f.tls_key;
  ro.tls_client_ca_file = f.tls_client_ca;
  ro.artifacts_dir = f.artifacts;
  ro.max_message_bytes = static_cast<int>(std::min<int64_t>(f.max_message_mb, 1024) << 20);
  ro.reap_interval_ms = f.reap_interval_seconds * 1000;
  if (!f.fault_crash_after.empty()) {
    StatusOr<std::function<void(const char*)>> hook = CrashHook(f.fault_crash_after);
    if (!hook.ok()) {
      std::cerr << "error: " << hook.status().message() << "\n";
      return 2;
    }
    ro.after_commit = std::move(hook).value();
  }
  std::shared_ptr<auth::Credentials> credentials;  // shared by both ports; null = auth off
  if (!f.tokens_file.empty()) {
    std::vector<std::string> warnings;
    StatusOr<rpc::TokenTable> tokens = rpc::TokenTable::Load(f.tokens_file, &warnings);
    if (!tokens.ok()) {
      std::cerr << "error: " << tokens.status().message() << "\n";
      return 2;
    }
    for (const auto& w : warnings) log->warn("event=tokens_file_deprecated {} {}", Kv("file", f.tokens_file), Kv("note", w));
    credentials = tokens->credentials();
    ro.tokens = std::move(tokens).value();
  }

  // Block the shutdown and reload signals in every thread (gRPC's included)
  // so that only sigwait below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  SqliteStoreOptions so;
  so.sync_full = f.sync_full;
  StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(f.db, so);
  if (!store.ok()) {
    std::cerr << "error: cannot open database " << f.db << ": " << store.status().ToString() << "\n";
    return 1;
  }
  CoordinatorOptions co;
  co.lease_ttl_ms = f.lease_seconds * 1000;
  co.heartbeat_interval_ms = std::max<int64_t>(co.lease_ttl_ms / 4, 1);
  co.keep_checkpoints = static_cast<int>(f.keep_checkpoints);
  co.keep_models = static_cast<int>(f.keep_models);
  co.max_lost_leases = static_cast<int>(std::clamp<int64_t>(f.max_lost_leases, 1, 1'000'000));
  co.submit_chunk_jobs = static_cast<int>(std::clamp<int64_t>(f.submit_chunk_jobs, 0, 1'000'000));
  // SubmitSweepChunk:N crashes after the Nth chunk of a chunked submission.
  if (ro.after_commit) co.after_submit_chunk = [hook = ro.after_commit] { hook("SubmitSweepChunk"); };
  // Declared before everything that counts into it, so it is destroyed last.
  MetricsRegistry metrics;
  MeteredStore metered_store(store->get(), &metrics);
  ro.metrics = &metrics;
  StatusOr<std::unique_ptr<Coordinator>> coordinator =
      Coordinator::Create(&metered_store, SystemClock::Get(), co);
  if (!coordinator.ok()) {
    std::cerr << "error: cannot load " << f.db << ": " << coordinator.status().ToString() << "\n";
    return 1;
  }
  metrics.AddCallbackGauge("lcsweep_workers_alive", "Workers seen within one lease period",
                           [c = coordinator->get()] { return static_cast<double>(c->ListWorkers(false).size()); });
  StatusOr<std::unique_ptr<rpc::RpcServer>> server =
      rpc::RpcServer::Start(coordinator->get(), SystemClock::Get(), std::move(ro));
  if (!server.ok()) {
    std::cerr << "error: " << server.status().ToString() << "\n";
    return 1;
  }
  std::unique_ptr<HttpServer> http;
  if (!f.http_listen.empty()) {
    HttpOptions ho;
    ho.listen = f.http_listen;
    ho.credentials = credentials;
    ho.tls_cert_file = f.tls_cert;
    ho.tls_key_file = f.tls_key;
    ho.session_ttl_seconds = session_seconds;
    ho.metrics = &metrics;
    ho.metrics_public = f.metrics_public;
    http = std::make_unique<HttpServer>(coordinator->get(), ho);
    Status st = http->Start();
    if (!st.ok()) {
      std::cerr << "error: dashboard: " << st.ToString() << "\n";
      (*server)->Shutdown(std::chrono::seconds(0));
      return 1;
    }
    std::string host = f.http_listen.substr(0, f.http_listen.rfind(':'));
    std::cout << "lcsweep-coordinator dashboard on " << (http->tls() ? "https" : "http") << "://" << host << ":"
              << http->port() << "\n";
  }
  std::cout << "lcsweep-coordinator listening on " << (*server)->address() << std::endl;

  int sig = 0;
  for (;;) {
    sigwait(&signals, &sig);
    if (sig != SIGHUP) break;
    if (!credentials) {
      log->info("event=signal {} {}", Kv("signal", "SIGHUP"), Kv("action", "none: no --tokens-file"));
      continue;
    }
    std::vector<std::string> warnings;
    StatusOr<size_t> n = credentials->Reload(&warnings);
    if (n.ok()) {
      log->info("event=tokens_reloaded {} {}", Kv("file", f.tokens_file), Kv("tokens", std::to_string(*n)));
      for (const auto& w : warnings) log->warn("event=tokens_file_deprecated {} {}", Kv("file", f.tokens_file), Kv("note", w));
    } else {
      log->error("event=tokens_reload_failed {} {} {}", Kv("file", f.tokens_file), Kv("error", n.status().message()),
                 Kv("kept", "the tokens loaded before"));
    }
  }
  log->info("event=signal {}", Kv("signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"));
  if (http) http->Stop();
  // The dashboard's JSON API deregisters its Coordinator listener when
  // destroyed: it must go before the coordinator (was a use-after-free abort
  // at exit, "double free or corruption").
  http.reset();
  (*server)->Shutdown(std::chrono::seconds(f.shutdown_grace_seconds));
  (*coordinator)->Shutdown();
  server->reset();
  coordinator->reset();  // flushes the metric batcher
  store->reset();        // closes the database
  log->info("event=stopped");
  std::cout << "lcsweep-coordinator stopped" << std::endl;
  return 0;
}

}  // namespace
}  // namespace lcsweep

int main(int argc, char** argv) {
  lcsweep::Flags f;
  CLI::App app{"lcsweep-coordinator: the lcsweep gRPC coordinator"};
  app.add_option("--config", f.config, "JSON file with flag values (keys = long flag names)");
  app.add_option("--listen", f.listen, "gRPC address HOST:PORT (port 0 = any free port)")
      ->capture_default_str();
  app.add_option("--db", f.db, "SQLite database file")->capture_default_str();
  app.add_option("--artifacts", f.artifacts, "checkpoint directory")->capture_default_str();
  app.add_option("--tokens-file", f.tokens_file,
                 "token digests, lines \"sha256:DIGEST ROLE [NAME]\" from `lcsweep token`; roles admin, "
                 "client, read-only, worker; mode 0600; re-read on SIGHUP");
  app.add_option("--tls-cert", f.tls_cert, "PEM certificate (TLS on both ports, with --tls-key)");
  app.add_option("--tls-key", f.tls_key, "PEM private key");
  app.add_option("--tls-client-ca", f.tls_client_ca,
                 "PEM CA: the gRPC port requires client certificates signed by it (mutual TLS for "
                 "workers and the CLI; the dashboard is unaffected); needs --tls-cert");
  app.add_option("--lease-seconds", f.lease_seconds, "lease length")->capture_default_str();
  app.add_option("--reap-interval-seconds", f.reap_interval_seconds,
                 "how often expired leases are requeued (0 = never)")
      ->capture_default_str();
  app.add_option("--http-listen", f.http_listen, "dashboard HOST:PORT (empty = off)")
      ->capture_default_str();
  app.add_option("--log-level", f.log_level, "trace|debug|info|warn|error|critical|off");
  app.add_flag("--insecure", f.insecure,
               "allow serving a non-loopback address without TLS or tokens (logs a warning)");
  app.add_flag("--metrics-public", f.metrics_public,
               "serve GET /metrics on the dashboard port without a token (default: a token that may read)");
  app.add_option("--session-hours", f.session_hours, "how long a dashboard sign-in lasts (fractional: 0.25 = 15 minutes)")->capture_default_str();
  app.add_option("--max-message-mb", f.max_message_mb, "largest gRPC message (MiB)")
      ->capture_default_str();
  app.add_option("--keep-models", f.keep_models,
                 "final models kept per sweep: those of the N jobs whose models were stored last "
                 "(0 = all, the default)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--keep-checkpoints", f.keep_checkpoints, "newest checkpoints kept per job")
      ->capture_default_str();
  app.add_option("--shutdown-grace-seconds", f.shutdown_grace_seconds,
                 "how long in-flight calls may finish on SIGTERM")
      ->capture_default_str();
  app.add_flag("--sync-full", f.sync_full, "SQLite synchronous=FULL (survives power loss)");
  app.add_option("--max-lost-leases", f.max_lost_leases,
                 "worker losses (expired or released leases) a job may suffer before it fails; "
                 "its own errors are bounded by the sweep's max_attempts")
      ->capture_default_str();
  app.add_option("--submit-chunk-jobs", f.submit_chunk_jobs,
                 "a submission creating more jobs than this is written in transactions of this "
                 "many jobs, so workers never wait behind one long commit (0 = one transaction)")
      ->capture_default_str();
  app.add_option("--fault-crash-after", f.fault_crash_after,
                 "fault tests only: exit like kill -9 after the Nth committed METHOD (METHOD:N; "
                 "SubmitSweepChunk:N = after the Nth chunk of a chunked submission)")
      ->group("Fault injection (tests)");
  CLI11_PARSE(app, argc, argv);
  if (!f.config.empty()) {
    lcsweep::Status st = lcsweep::ApplyConfig(f.config, app);
    if (!st.ok()) {
      std::cerr << "error: " << st.message() << "\n";
      return 2;
    }
  }
  lcsweep::Status st = lcsweep::SetupLogging(f.log_level);
  if (!st.ok()) {
    std::cerr << "error: " << st.message() << "\n";
    return 2;
  }
  return lcsweep::Run(f);
}
