// lcsweep-worker: turns this machine into capacity for a coordinator.
//
//   lcsweep-worker --coordinator HOST:PORT --token-file F
//                  [--devices cpu | cuda:0,cuda:1] [--slots N] [--once]
//                  [--pack [--reserve-gb G]]
//
// --pack: the --slots spread over the devices share each device's memory:
// a slot leases only while its device can give a job memory, and runs a
// leased job only if the job's memory estimate fits what is free less the
// estimates of the device's other jobs and the reserve (worker/agent/packer.h).
// Without --pack, slots lease regardless of memory (their offer is the free
// memory measured at lease time).
//                  [--metrics-listen HOST:PORT]
//
// --metrics-listen (off by default) serves Prometheus metrics at GET /metrics
// (worker/agent/worker_metrics.h lists them; no token: counts only).
//
// SIGTERM / SIGINT drain: each running job checkpoints at its next step,
// uploads, releases its lease, and the process exits 0 (within
// --drain-timeout, else it exits 1 and leaves the leases to expire). A second
// signal exits at once with status 130.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <thread>

#include <torch/torch.h>

#include "common/logging.h"
#include "common/metrics_registry.h"
#include "worker/agent/agent.h"
#include "worker/agent/usage_meter.h"
#include "worker/agent/worker_metrics.h"
#include "worker/metrics_port.h"
#include "worker/rpc/grpc_coordinator_client.h"
#include "worker/runner/trainer_job_runner.h"
#include "worker/train/trainer.h"

namespace {

using lcsweep::Kv;
using lcsweep::StatusOr;
using lcsweep::agent::DeviceInfo;

std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// The devices of --devices; their memory is measured by the agent's probe.
StatusOr<std::vector<DeviceInfo>> ParseDevices(const std::string& spec) {
  std::vector<DeviceInfo> devices;
  for (const std::string& name : SplitCommas(spec)) {
    if (name == "cpu") {
      devices.push_back({"cpu", "cpu", 0, 0, lcsweep::agent::CpuModelName()});
      continue;
    }
    if (name.rfind("cuda:", 0) != 0) {
      return lcsweep::InvalidArgumentError("--devices: unknown device '" + name +
                                           "'; use cpu or cuda:N[,cuda:M...]");
    }
    const int index = std::atoi(name.c_str() + 5);
    if (!torch::cuda::is_available() || index >= static_cast<int>(torch::cuda::device_count())) {
      return lcsweep::FailedPreconditionError(
          "--devices: " + name + " is not available here (LibTorch sees " +
          std::to_string(torch::cuda::is_available() ? torch::cuda::device_count() : 0) + " GPUs)");
    }
    devices.push_back({"cuda", name, 0, 0, ""});
  }
  if (devices.empty()) return lcsweep::InvalidArgumentError("--devices is empty; use cpu or cuda:N");
  return devices;
}

// SIGTERM / SIGINT reach a self-pipe through a handler instead of sigwait:
// OpenBLAS (and LibTorch) start threads in static constructors, before main
// could block the signals in them, and a process-directed signal delivered
// to such a thread with the default disposition killed the worker (exit 143)
// instead of draining it. A handler runs in whichever thread gets the
// signal, so every delivery ends up in the pipe.
int g_stop_pipe[2] = {-1, -1};

extern "C" void OnStopSignal(int sig) {
  const char c = static_cast<char>(sig);
  ssize_t ignored = write(g_stop_pipe[1], &c, 1);  // async-signal-safe
  (void)ignored;
}

bool InstallStopHandlers() {
  if (pipe2(g_stop_pipe, O_CLOEXEC) != 0) return false;
  struct sigaction sa = {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  return sigaction(SIGTERM, &sa, nullptr) == 0 && sigaction(SIGINT, &sa, nullptr) == 0;
}

// Blocks until the next stop signal; returns its number.
int NextStopSignal() {
  char c = 0;
  while (read(g_stop_pipe[0], &c, 1) != 1) {
  }
  return c;
}

std::string HostName() {
  char buf[256] = {0};
  gethostname(buf, sizeof(buf) - 1);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  if (!InstallStopHandlers()) {
    std::perror("lcsweep-worker: cannot install the SIGTERM/SIGINT handlers");
    return 1;
  }

  CLI::App app{"lcsweep-worker: leases lcsweep jobs from a coordinator and trains them"};
  std::string coordinator, token_file, devices_spec = "cpu", work_dir = "lcsweep-work", name,
                                        tls_ca, tls_cert, tls_key, log_level, metrics_listen;
  int slots = 0, threads = 0, lease_wait = 10;
  double drain_timeout = 120;
  bool once = false, pack = false;
  double reserve_gb = 2.0;
  app.add_option("--coordinator", coordinator, "HOST:PORT (default: $LCSWEEP_COORDINATOR)");
  app.add_option("--token-file", token_file, "file whose first line is the worker token (default: $LCSWEEP_TOKEN)");
  app.add_option("--devices", devices_spec, "cpu | cuda:0,cuda:1,...")->capture_default_str();
  app.add_option("--slots", slots, "jobs at once, spread over the devices (default: one per device)");
  app.add_option("--threads", threads, "LibTorch CPU threads per job (default: cores / CPU slots)");
  app.add_flag("--once", once, "run one job, then exit");
  app.add_flag("--pack", pack, "run several jobs on one device while their memory estimates fit");
  app.add_option("--reserve-gb", reserve_gb,
                 "with --pack: memory kept free on each device (CUDA context, allocator caching)")
      ->capture_default_str();
  app.add_option("--work-dir", work_dir, "folder for job checkpoints")->capture_default_str();
  app.add_option("--name", name, "stable worker name (default: HOSTNAME-PID... see README)");
  app.add_option("--tls-ca", tls_ca, "PEM root certificates: connect with TLS");
  app.add_option("--tls-cert", tls_cert, "PEM client certificate, for a coordinator with --tls-client-ca");
  app.add_option("--tls-key", tls_key, "PEM private key of --tls-cert");
  app.add_option("--drain-timeout", drain_timeout, "seconds a drain may take before exiting anyway")
      ->capture_default_str();
  app.add_option("--lease-wait", lease_wait, "long-poll seconds per lease request")->capture_default_str();
  app.add_option("--metrics-listen", metrics_listen,
                 "HOST:PORT for Prometheus metrics at GET /metrics (default: off; no auth, counts only)");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error (default: $LCSWEEP_LOG_LEVEL or info)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (auto s = lcsweep::SetupLogging(log_level); !s.ok()) {
    std::cerr << "lcsweep-worker: " << s.message() << "\n";
    return 2;
  }
  auto log = lcsweep::GetLogger("worker");

  if (coordinator.empty() && std::getenv("LCSWEEP_COORDINATOR")) coordinator = std::getenv("LCSWEEP_COORDINATOR");
  if (coordinator.empty()) coordinator = "127.0.0.1:50051";
  std::string token;
  if (!token_file.empty()) {
    StatusOr<std::string> t = lcsweep::agent::ReadTokenFile(token_file);
    if (!t.ok()) {
      std::cerr << "lcsweep-worker: " << t.status().message() << "\n";
      return 2;
    }
    token = *t;
  } else if (std::getenv("LCSWEEP_TOKEN")) {
    token = std::getenv("LCSWEEP_TOKEN");
  }

  StatusOr<std::vector<DeviceInfo>> devices = ParseDevices(devices_spec);
  if (!devices.ok()) {
    std::cerr << "lcsweep-worker: " << devices.status().message() << "\n";
    return 2;
  }
  if (slots <= 0) slots = static_cast<int>(devices->size());
  lcsweep::agent::AgentOptions options;
  for (int i = 0; i < slots; ++i) options.slot_devices.push_back((*devices)[i % devices->size()].name);
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  int cpu_slots = 0;
  for (const auto& d : options.slot_devices) cpu_slots += d == "cpu";
  if (threads <= 0) threads = std::max(1, cpu_slots > 0 ? cores / cpu_slots : cores);
  std::unique_ptr<lcsweep::agent::DeviceProbe> probe = lcsweep::agent::MakeSystemDeviceProbe();
  options.probe = probe.get();
  std::unique_ptr<lcsweep::agent::DevicePacker> packer;
  if (pack) {
    packer = std::make_unique<lcsweep::agent::DevicePacker>(probe.get(), lcsweep::agent::GbToBytes(reserve_gb));
    options.packer = packer.get();
  }
  options.work_dir = work_dir;
  options.once = once;
  options.lease_wait_seconds = lease_wait;
  auto& reg = options.registration;
  reg.hostname = HostName();
  reg.name = name.empty() ? reg.hostname + "-" + devices_spec : name;
  reg.devices = *devices;
  reg.cores = cores;
  const nlohmann::json versions = lcsweep::train::VersionInfo();
  for (const auto& [k, v] : versions.items()) reg.versions[k] = v.is_string() ? v.get<std::string>() : v.dump();
  std::error_code ec;
  std::filesystem::create_directories(work_dir, ec);
  if (ec) {
    std::cerr << "lcsweep-worker: cannot create --work-dir " << work_dir << ": " << ec.message() << "\n";
    return 2;
  }

  lcsweep::agent::GrpcClientOptions client_options;
  client_options.target = coordinator;
  client_options.token = token;
  client_options.tls_ca_file = tls_ca;
  client_options.tls_cert_file = tls_cert;
  client_options.tls_key_file = tls_key;
  StatusOr<std::unique_ptr<lcsweep::agent::CoordinatorClient>> made =
      lcsweep::agent::MakeGrpcCoordinatorClient(client_options);
  if (!made.ok()) {
    std::cerr << "lcsweep-worker: " << made.status().message() << "\n";
    return 2;
  }
  std::unique_ptr<lcsweep::agent::CoordinatorClient> client = std::move(made).value();
  lcsweep::agent::TrainerJobRunner trainer(threads);
  lcsweep::agent::StopSignal stop;
  lcsweep::MetricsRegistry registry;
  lcsweep::agent::WorkerMetrics worker_metrics(&registry);
  lcsweep::agent::MeteredRunner runner(&trainer, &worker_metrics);
  lcsweep::agent::MeteredClient metered_client(client.get(), &worker_metrics);
  std::unique_ptr<lcsweep::agent::MetricsPort> metrics_port;
  if (!metrics_listen.empty()) {
    StatusOr<std::unique_ptr<lcsweep::agent::MetricsPort>> p =
        lcsweep::agent::MetricsPort::Start(metrics_listen, &registry);
    if (!p.ok()) {
      std::cerr << "lcsweep-worker: " << p.status().message() << "\n";
      return 2;
    }
    metrics_port = std::move(p).value();
    log->info("event=metrics_listening {}", Kv("port", metrics_port->port()));
  }

  std::thread([&stop, drain_timeout, log] {
    int sig = NextStopSignal();
    log->info("event=drain_start signal={} drain_timeout_s={}", sig, drain_timeout);
    stop.Drain();
    std::thread([drain_timeout, log] {
      std::this_thread::sleep_for(std::chrono::duration<double>(drain_timeout));
      log->error("event=drain_timeout action=exit");
      std::_Exit(1);
    }).detach();
    NextStopSignal();
    log->warn("event=second_signal action=exit_now");
    std::_Exit(130);
  }).detach();

  log->info("event=start {} {} {} {}", Kv("coordinator", coordinator), Kv("name", reg.name),
            Kv("devices", devices_spec), Kv("slots", slots));
  lcsweep::agent::Agent agent(&metered_client, &runner, &stop, options);
  lcsweep::Status status = agent.Run();
  if (!status.ok()) {
    std::cerr << "lcsweep-worker: " << status.ToString() << "\n";
    if (status.code() == lcsweep::StatusCode::kUnauthenticated) {
      std::cerr << "lcsweep-worker: the coordinator refused the token; check --token-file or $LCSWEEP_TOKEN\n";
    }
    return 1;
  }
  log->info("event=exit reason={}", stop.draining() ? "drained" : "done");
  return 0;
}
