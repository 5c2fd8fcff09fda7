// The real lcsweep-coordinator binary as a child process: persistence across
// kill -9, graceful SIGTERM, the loopback guard, the config file, tokens.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "lcsweep/v1/coordinator.grpc.pb.h"
#include "server/auth/token_table.h"

namespace lcsweep::testing {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "lcsweep-bin-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& n) const { return path_ + "/" + n; }

 private:
  std::string path_;
};

// A running lcsweep-coordinator with its stdout+stderr on a pipe.
class Coordinator {
 public:
  explicit Coordinator(std::vector<std::string> args) {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], 1);
      dup2(fds[1], 2);
      close(fds[0]);
      std::vector<char*> argv;
      static std::string bin = LCSWEEP_COORDINATOR_BIN;
      argv.push_back(bin.data());
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
    close(fds[1]);
    out_ = fds[0];
    fcntl(out_, F_SETFL, O_NONBLOCK);
  }
  ~Coordinator() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
  }

  // Reads output until `needle` appears or the timeout passes.
  bool WaitFor(const std::string& needle, double timeout_s = 30) {
    auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (output_.find(needle) == std::string::npos) {
      if (std::chrono::steady_clock::now() > end) return false;
      pollfd p{out_, POLLIN, 0};
      poll(&p, 1, 100);
      char buf[4096];
      ssize_t n;
      while ((n = read(out_, buf, sizeof buf)) > 0) output_.append(buf, static_cast<size_t>(n));
      if (n == 0 && output_.find(needle) == std::string::npos) return false;  // EOF
    }
    return true;
  }

  // "listening on HOST:PORT" -> HOST:PORT.
  std::string Address() {
    if (!WaitFor("listening on ")) return "";
    size_t at = output_.find("listening on ") + 13;
    size_t end = output_.find('\n', at);
    if (end == std::string::npos) {
      WaitFor("\n");
      end = output_.find('\n', at);
    }
    return output_.substr(at, end - at);
  }

  // Exit code after a signal (or natural exit); -1 on timeout.
  int Wait(double timeout_s = 30) {
    auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (std::chrono::steady_clock::now() < end) {
      int status = 0;
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        exited_ = true;
        WaitFor("\x01", 0.2);  // drain the pipe
        if (WIFEXITED(status)) return WEXITSTATUS(status);
        return 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }
  void Signal(int sig) { kill(pid_, sig); }
  const std::string& output() const { return output_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  bool exited_ = false;
  std::string output_;
};

std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token = "", int deadline_s = 30) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(deadline_s));
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  return ctx;
}

const char* kSpec = R"({"name": "persist", "base": {"data": {"name": "synthetic"}},
                        "grid": {"model.conv.lc_rate": [1, 2]}, "seeds": [0, 1]})";

TEST(CoordinatorBinaryTest, EverythingAcknowledgedSurvivesKillDashNine) {
  TempDir dir;
  std::vector<std::string> args = {"--listen", "127.0.0.1:0", "--http-listen", "",
                                   "--db", dir.file("db.sqlite"), "--artifacts", dir.file("art")};
  int64_t sweep_id = 0, running_job = 0, done_job = 0;
  const int kPoints = 250;
  {
    Coordinator c(args);
    std::string addr = c.Address();
    ASSERT_FALSE(addr.empty()) << c.output();
    auto ch = grpc::CreateChannel(addr, grpc::InsecureChannelCredentials());
    auto jobs = v1::JobService::NewStub(ch);
    auto workers = v1::WorkerService::NewStub(ch);
    v1::SubmitSweepRequest sreq;
    sreq.set_spec_json(kSpec);
    v1::SubmitSweepResponse sresp;
    ASSERT_TRUE(jobs->SubmitSweep(Ctx().get(), sreq, &sresp).ok());
    sweep_id = sresp.sweep_id();
    v1::RegisterWorkerRequest rreq;
    rreq.set_name("w");
    v1::RegisterWorkerResponse rresp;
    ASSERT_TRUE(workers->RegisterWorker(Ctx().get(), rreq, &rresp).ok());
    v1::LeaseJobRequest lreq;
    lreq.set_worker_id(rresp.worker_id());
    lreq.set_has_cpu(true);
    v1::LeaseJobResponse a, b;
    ASSERT_TRUE(workers->LeaseJob(Ctx().get(), lreq, &a).ok());
    ASSERT_TRUE(workers->LeaseJob(Ctx().get(), lreq, &b).ok());
    ASSERT_TRUE(a.has_lease() && b.has_lease());
    running_job = a.lease().job().id();
    done_job = b.lease().job().id();
    // Acknowledged metrics, in several reports.
    for (int r = 0; r < 5; ++r) {
      v1::ReportMetricsRequest mreq;
      mreq.set_lease_token(a.lease().lease_token());
      for (int i = 0; i < kPoints / 5; ++i) {
        auto* p = mreq.add_points();
        p->set_name("train.loss");
        p->set_step(r * (kPoints / 5) + i);
        p->set_value(1.0 / (1 + p->step()));
      }
      v1::ReportMetricsResponse mresp;
      ASSERT_TRUE(workers->ReportMetrics(Ctx().get(), mreq, &mresp).ok());
    }
    v1::CompleteJobRequest creq;
    creq.set_lease_token(b.lease().lease_token());
    creq.set_result_json(R"({"test": {"accuracy": 0.75}})");
    v1::CompleteJobResponse cresp;
    ASSERT_TRUE(workers->CompleteJob(Ctx().get(), creq, &cresp).ok());
    c.Signal(SIGKILL);
    EXPECT_EQ(c.Wait(), 128 + SIGKILL);
  }
  Coordinator c(args);
  std::string addr = c.Address();
  ASSERT_FALSE(addr.empty()) << c.output();
  auto ch = grpc::CreateChannel(addr, grpc::InsecureChannelCredentials());
  auto jobs = v1::JobService::NewStub(ch);
  v1::GetSweepRequest gs;
  gs.set_sweep_id(sweep_id);
  v1::GetSweepResponse sweep;
  ASSERT_TRUE(jobs->GetSweep(Ctx().get(), gs, &sweep).ok());
  EXPECT_EQ(sweep.sweep().name(), "persist");
  EXPECT_EQ(sweep.sweep().counts().total(), 4);
  EXPECT_EQ(sweep.sweep().counts().succeeded(), 1);
  EXPECT_EQ(sweep.sweep().counts().running(), 1);  // its lease lives on until it expires
  EXPECT_EQ(sweep.sweep().counts().queued(), 2);
  v1::GetJobRequest gj;
  gj.set_job_id(done_job);
  v1::GetJobResponse done;
  ASSERT_TRUE(jobs->GetJob(Ctx().get(), gj, &done).ok());
  EXPECT_EQ(done.job().state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_NE(done.job().result_json().find("0.75"), std::string::npos);
  v1::GetMetricsRequest mr;
  mr.set_job_id(running_job);
  v1::GetMetricsResponse metrics;
  ASSERT_TRUE(jobs->GetMetrics(Ctx().get(), mr, &metrics).ok());
  ASSERT_EQ(metrics.series_size(), 1);
  ASSERT_EQ(metrics.series(0).points_size(), kPoints);
  for (int i = 0; i < kPoints; ++i) EXPECT_EQ(metrics.series(0).points(i).step(), i);
  v1::ListEventsRequest er;
  er.set_sweep_id(sweep_id);
  v1::ListEventsResponse events;
  ASSERT_TRUE(jobs->ListEvents(Ctx().get(), er, &events).ok());
  EXPECT_GE(events.events_size(), 4 + 2 + 1);  // submitted x4, leased x2, completed
  jobs.reset();
  ch.reset();
  c.Signal(SIGTERM);
  EXPECT_EQ(c.Wait(), 0) << c.output();
}

TEST(CoordinatorBinaryTest, SigtermIsGracefulWithCallsInFlight) {
  TempDir dir;
  Coordinator c({"--listen", "127.0.0.1:0", "--http-listen", "", "--db", dir.file("db"),
                 "--artifacts", dir.file("art"), "--shutdown-grace-seconds", "5"});
  std::string addr = c.Address();
  ASSERT_FALSE(addr.empty()) << c.output();
  auto ch = grpc::CreateChannel(addr, grpc::InsecureChannelCredentials());
  auto workers = v1::WorkerService::NewStub(ch);
  v1::RegisterWorkerRequest rreq;
  rreq.set_name("w");
  v1::RegisterWorkerResponse rresp;
  ASSERT_TRUE(workers->RegisterWorker(Ctx().get(), rreq, &rresp).ok());
  // A long poll is in flight when the signal arrives: it must end promptly.
  grpc::Status poll_status;
  v1::LeaseJobResponse poll_resp;
  std::chrono::steady_clock::time_point poll_end;
  std::thread poller([&] {
    v1::LeaseJobRequest lreq;
    lreq.set_worker_id(rresp.worker_id());
    lreq.set_has_cpu(true);
    lreq.set_wait_seconds(60);
    poll_status = workers->LeaseJob(Ctx("", 90).get(), lreq, &poll_resp);
    poll_end = std::chrono::steady_clock::now();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto start = std::chrono::steady_clock::now();
  c.Signal(SIGTERM);
  poller.join();
  EXPECT_LT(std::chrono::duration<double>(poll_end - start).count(), 3.0)
      << "the long poll must end at shutdown, not run out its 60 s";
  // Exit within the grace period (idle connections may take gRPC ~5 s).
  EXPECT_EQ(c.Wait(20), 0) << c.output();
  EXPECT_TRUE(poll_status.ok() || poll_status.error_code() == grpc::StatusCode::UNAVAILABLE)
      << poll_status.error_message();
  EXPECT_FALSE(poll_resp.has_lease());
  EXPECT_NE(c.output().find("stopped"), std::string::npos) << c.output();
}

TEST(CoordinatorBinaryTest, RefusesAnOpenNonLoopbackAddress) {
  TempDir dir;
  Coordinator c({"--listen", "0.0.0.0:0", "--http-listen", "", "--db", dir.file("db")});
  EXPECT_EQ(c.Wait(), 2);
  EXPECT_NE(c.output().find("--tokens-file"), std::string::npos) << c.output();
  EXPECT_FALSE(std::filesystem::exists(dir.file("db"))) << "refused before touching the database";
}

TEST(CoordinatorBinaryTest, ConfigFileAndTokensFile) {
  TempDir dir;
  {
    std::ofstream t(dir.file("tokens"));
    t << auth::TokenFileLine("client-token-0123456789", auth::Role::kClient, "cli") << "\n"
      << auth::TokenFileLine("worker-token-0123456789", auth::Role::kWorker, "w") << "\n";
    std::filesystem::permissions(dir.file("tokens"), std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    std::ofstream cfg(dir.file("config.json"));
    cfg << R"({"listen": "127.0.0.1:0", "http_listen": "", "db": ")" << dir.file("db")
        << R"(", "artifacts": ")" << dir.file("art") << R"(", "tokens-file": ")"
        << dir.file("tokens") << R"(", "lease_seconds": 30})";
  }
  Coordinator c({"--config", dir.file("config.json")});
  std::string addr = c.Address();
  ASSERT_FALSE(addr.empty()) << c.output();
  auto ch = grpc::CreateChannel(addr, grpc::InsecureChannelCredentials());
  auto workers = v1::WorkerService::NewStub(ch);
  v1::RegisterWorkerRequest rreq;
  rreq.set_name("w");
  v1::RegisterWorkerResponse rresp;
  EXPECT_EQ(workers->RegisterWorker(Ctx().get(), rreq, &rresp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(workers->RegisterWorker(Ctx("client-token-0123456789").get(), rreq, &rresp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(workers->RegisterWorker(Ctx("worker-token-0123456789").get(), rreq, &rresp).ok());
  EXPECT_EQ(rresp.lease_ttl_ms(), 30'000) << "lease_seconds from the config file";
  // Idle client connections hold a graceful shutdown for gRPC's GOAWAY
  // handshake (about 5 s); closing ours keeps the test fast.
  workers.reset();
  ch.reset();
  c.Signal(SIGINT);
  EXPECT_EQ(c.Wait(), 0) << c.output();

  // An unknown key is refused with its name.
  {
    std::ofstream cfg(dir.file("bad.json"));
    cfg << R"({"listen": "127.0.0.1:0", "lease_secs": 5})";
  }
  Coordinator bad({"--config", dir.file("bad.json"), "--db", dir.file("db2")});
  EXPECT_EQ(bad.Wait(), 2);
  EXPECT_NE(bad.output().find("lease_secs: unknown key"), std::string::npos) << bad.output();
}

}  // namespace
}  // namespace lcsweep::testing
