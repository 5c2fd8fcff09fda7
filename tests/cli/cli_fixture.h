// The fixture of the `lcsweep` end-to-end tests (cli_test.cc,
// cli_results_watch_test.cc): a real lcsweep-coordinator on loopback (fresh
// SQLite file per test, tokens on), the CLI run as a child process, and the
// test itself acting as a worker through WorkerService (Register, LeaseJob,
// ReportMetrics, CompleteJob) with result documents it constructs, so that
// the CLI's numbers can be checked against the test's own computation.
#pragma once

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lcsweep/v1/coordinator.grpc.pb.h"
#include "server/auth/token_table.h"
#include "tests/cli/test_sweep.h"
#include "tests/integration/child_process.h"


namespace lcsweep::cli_testing {

namespace fs = std::filesystem;
using ::lcsweep::testing::ChildProcess;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kAdminToken = "cli-test-admin-token-0123456789";
constexpr const char* kWorkerToken = "cli-test-worker-token-0123456789";

struct CliResult {
  int code = -1;
  std::string out, err;
};


// The accuracy the fake worker reports for a job: depends on every axis and
// the seed, so means and stds differ per cell.
inline double FakeAccuracy(int64_t lc_rate, const std::string& spatial, int64_t seed) {
  return 0.5 + 0.03 * std::log2(static_cast<double>(lc_rate)) + (spatial == "frozen" ? 0.05 : 0.0) +
         0.007 * seed * seed + 0.001 * lc_rate * seed;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lcsweep-cli-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ + "/config");
    // Keep the developer's own ~/.config/lcsweep out of the tests.
    setenv("XDG_CONFIG_HOME", (dir_ + "/config").c_str(), 1);
    unsetenv("LCSWEEP_COORDINATOR");
    unsetenv("LCSWEEP_TOKEN");
    std::ofstream(dir_ + "/tokens") << auth::TokenFileLine(kAdminToken, auth::Role::kAdmin, "alice") << "\n"
                                    << auth::TokenFileLine(kWorkerToken, auth::Role::kWorker, "w") << "\n";
    // The coordinator refuses a tokens file that group or others can read.
    std::filesystem::permissions(dir_ + "/tokens", std::filesystem::perms::owner_read |
                                                       std::filesystem::perms::owner_write);
    port_ = ::lcsweep::testing::PickFreePort();
    coordinator_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{LCSWEEP_COORDINATOR_BIN, "--listen", Address(), "--db", dir_ + "/lcsweep.db",
                                 "--artifacts", dir_ + "/artifacts", "--tokens-file", dir_ + "/tokens",
                                 "--http-listen", "127.0.0.1:0", "--shutdown-grace-seconds", "1"},
        dir_ + "/coordinator");
    ASSERT_TRUE(coordinator_->WaitForOutput("listening on", std::chrono::seconds(30)))
        << coordinator_->Stderr();
    channel_ = grpc::CreateChannel(Address(), grpc::InsecureChannelCredentials());
    worker_stub_ = v1::WorkerService::NewStub(channel_);
  }

  void TearDown() override {
    // A clean stop (exit 0), dashboard included, as deploy/quickstart.sh expects.
    coordinator_->Signal(SIGTERM);
    EXPECT_EQ(coordinator_->Wait(std::chrono::seconds(20)), std::optional<int>(0)) << coordinator_->Stderr();
    if (!HasFailure()) fs::remove_all(dir_);
    else std::cerr << "logs kept in " << dir_ << "\n";
  }

  std::string Address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Runs `lcsweep ARGS` (connection flags first unless `raw`).
  CliResult Cli(std::vector<std::string> args, bool raw = false) {
    std::vector<std::string> argv = {LCSWEEP_CLI_BIN};
    if (!raw) argv.insert(argv.end(), {"--coordinator", Address(), "--token", kAdminToken});
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess p(argv, dir_ + "/cli-" + std::to_string(++cli_runs_));
    std::optional<int> code = p.Wait(std::chrono::seconds(60));
    CliResult r;
    r.code = code.value_or(-1);
    r.out = p.Stdout();
    r.err = p.Stderr();
    return r;
  }

  std::string WriteSpec(const nlohmann::json& spec, const std::string& name) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << spec.dump(2);
    return path;
  }

  int64_t Submit(const nlohmann::json& spec) {
    CliResult r = Cli({"submit", WriteSpec(spec, spec["name"].get<std::string>() + ".json")});
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    std::smatch m;
    EXPECT_TRUE(std::regex_search(r.out, m, std::regex("submitted sweep (\\d+)"))) << r.out;
    return m.empty() ? 0 : std::stoll(m[1]);
  }

  grpc::ClientContext* WorkerContext(grpc::ClientContext* ctx) {
    ctx->AddMetadata("authorization", std::string("Bearer ") + kWorkerToken);
    return ctx;
  }

  int64_t RegisterWorker() {
    v1::RegisterWorkerRequest req;
    req.set_name("fake-worker");
    req.set_hostname("test");
    auto* d = req.add_devices();
    d->set_kind("cpu");
    d->set_name("cpu");
    req.set_slots(1);
    v1::RegisterWorkerResponse resp;
    grpc::ClientContext ctx;
    grpc::Status st = worker_stub_->RegisterWorker(WorkerContext(&ctx), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.worker_id();
  }

  // Leases one job; returns false when none is queued.
  bool Lease(int64_t worker, v1::Lease* lease) {
    v1::LeaseJobRequest req;
    req.set_worker_id(worker);
    req.set_has_cpu(true);
    req.set_wait_seconds(0);
    v1::LeaseJobResponse resp;
    grpc::ClientContext ctx;
    grpc::Status st = worker_stub_->LeaseJob(WorkerContext(&ctx), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    if (!resp.has_lease()) return false;
    *lease = resp.lease();
    return true;
  }

  // Completes every queued job with FakeAccuracy; returns job id -> accuracy.
  std::map<int64_t, double> CompleteAll(int64_t worker) {
    std::map<int64_t, double> done;
    v1::Lease lease;
    while (Lease(worker, &lease)) {
      const v1::JobSummary& s = lease.job().summary();
      double acc = FakeAccuracy(s.lc_rate(), s.spatial(), s.seed());
      v1::ReportMetricsRequest mreq;
      mreq.set_lease_token(lease.lease_token());
      for (int step = 1; step <= 3; ++step) {
        auto* p = mreq.add_points();
        p->set_name("train.step_loss");
        p->set_value(2.0 / step);
        p->set_step(step);
      }
      auto* p = mreq.add_points();
      p->set_name("test.accuracy");
      p->set_value(acc);
      p->set_step(3);
      v1::ReportMetricsResponse mresp;
      grpc::ClientContext mctx;
      EXPECT_TRUE(worker_stub_->ReportMetrics(WorkerContext(&mctx), mreq, &mresp).ok());
      nlohmann::json result = {
          {"final", {{"test_accuracy", acc}, {"test_loss", 1.0 - acc}, {"test_n", 128}}},
          {"eval", {{"fgsm", {{{"eps", 0.00392156862745098}, {"accuracy", acc / 2}}}}}},
          {"timings_s", {{"total", 1.5}}}};
      v1::CompleteJobRequest creq;
      creq.set_lease_token(lease.lease_token());
      creq.set_result_json(result.dump());
      v1::CompleteJobResponse cresp;
      grpc::ClientContext cctx;
      grpc::Status st = worker_stub_->CompleteJob(WorkerContext(&cctx), creq, &cresp);
      EXPECT_TRUE(st.ok()) << st.error_message();
      done[lease.job().id()] = acc;
    }
    return done;
  }

  std::string dir_;
  int port_ = 0;
  int cli_runs_ = 0;
  std::unique_ptr<ChildProcess> coordinator_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::WorkerService::Stub> worker_stub_;
};

// Independent statistics of the values of one cell.
struct Stats {
  double mean = 0, std = 0;
  int n = 0;
};
inline Stats Compute(const std::vector<double>& v) {
  Stats s;
  s.n = static_cast<int>(v.size());
  for (double x : v) s.mean += x;
  s.mean /= s.n;
  if (s.n > 1) {
    double ss = 0;
    for (double x : v) ss += (x - s.mean) * (x - s.mean);
    s.std = std::sqrt(ss / (s.n - 1));
  }
  return s;
}

inline std::vector<std::vector<std::string>> ParseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') field += '"', ++i;
      else if (c == '"') quoted = false;
      else field += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(field), field.clear();
    } else if (c == '\n') {
      row.push_back(field), field.clear();
      rows.push_back(row), row.clear();
    } else {
      field += c;
    }
  }
  return rows;
}

inline std::string Fixed2(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", v);
  return buf;
}
}  // namespace lcsweep::cli_testing
