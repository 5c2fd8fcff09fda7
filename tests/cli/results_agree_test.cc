// The CLI and the dashboard print the same numbers for the same sweep: a
// real lcsweep-coordinator (gRPC + dashboard on loopback), a sweep submitted
// with `lcsweep submit`, jobs completed by this test acting as a worker
// (with different full-test and evaluation-subset accuracies, as on real
// runs), then `lcsweep results --format json` and GET /api/v1/sweeps/ID/results
// compared cell by cell, for the default figure and for another one.
#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "lcsweep/v1/coordinator.grpc.pb.h"
#include "server/auth/token_table.h"
#include "tests/integration/child_process.h"

namespace lcsweep {
namespace {

namespace fs = std::filesystem;
using ::lcsweep::testing::ChildProcess;
using json = nlohmann::json;

constexpr const char* kAdmin = "agree-test-admin-token-0123456789";
constexpr const char* kWorker = "agree-test-worker-token-0123456789";

class ResultsAgreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("lcsweep-agree-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "config");
    setenv("XDG_CONFIG_HOME", (dir_ / "config").c_str(), 1);
    unsetenv("LCSWEEP_COORDINATOR");
    unsetenv("LCSWEEP_TOKEN");
    std::ofstream(dir_ / "tokens") << auth::TokenFileLine(kAdmin, auth::Role::kAdmin, "a") << "\n"
                                   << auth::TokenFileLine(kWorker, auth::Role::kWorker, "w") << "\n";
    std::filesystem::permissions(dir_ / "tokens", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    port_ = ::lcsweep::testing::PickFreePort();
    coordinator_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{LCSWEEP_COORDINATOR_BIN, "--listen", Address(), "--db", (dir_ / "c.db").string(),
                                 "--artifacts", (dir_ / "artifacts").string(), "--tokens-file",
                                 (dir_ / "tokens").string(), "--http-listen", "127.0.0.1:0",
                                 "--shutdown-grace-seconds", "1"},
        (dir_ / "coordinator").string());
    auto line = coordinator_->WaitForOutput("dashboard on", std::chrono::seconds(30));
    ASSERT_TRUE(line) << coordinator_->Stderr();
    std::smatch m;
    ASSERT_TRUE(std::regex_search(*line, m, std::regex("dashboard on http://([0-9.]+):(\\d+)"))) << *line;
    http_host_ = m[1];
    http_port_ = std::stoi(m[2]);
    ASSERT_TRUE(coordinator_->WaitForOutput("listening on", std::chrono::seconds(30)));
    worker_ = v1::WorkerService::NewStub(grpc::CreateChannel(Address(), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    coordinator_->Signal(SIGTERM);
    coordinator_->Wait(std::chrono::seconds(20));
    if (!HasFailure()) fs::remove_all(dir_);
  }
  std::string Address() const { return "127.0.0.1:" + std::to_string(port_); }

  std::string Cli(std::vector<std::string> args, int* code) {
    std::vector<std::string> argv = {LCSWEEP_CLI_BIN, "--coordinator", Address(), "--token", kAdmin};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess p(argv, (dir_ / ("cli-" + std::to_string(++runs_))).string());
    *code = p.Wait(std::chrono::seconds(60)).value_or(-1);
    return p.Stdout() + (*code ? p.Stderr() : "");
  }

  json Dashboard(const std::string& path) {
    httplib::Client c(http_host_, http_port_);
    auto res = c.Get(path, {{"Authorization", std::string("Bearer ") + kAdmin}});
    EXPECT_TRUE(res) << path;
    if (!res) return nullptr;
    EXPECT_EQ(res->status, 200) << res->body;
    return json::parse(res->body);
  }

  void CompleteAll() {
    grpc::ClientContext rctx;
    rctx.AddMetadata("authorization", std::string("Bearer ") + kWorker);
    v1::RegisterWorkerRequest reg;
    reg.set_name("w");
    reg.set_slots(1);
    v1::RegisterWorkerResponse rresp;
    ASSERT_TRUE(worker_->RegisterWorker(&rctx, reg, &rresp).ok());
    while (true) {
      grpc::ClientContext lctx;
      lctx.AddMetadata("authorization", std::string("Bearer ") + kWorker);
      v1::LeaseJobRequest lreq;
      lreq.set_worker_id(rresp.worker_id());
      lreq.set_has_cpu(true);
      lreq.set_wait_seconds(0);
      v1::LeaseJobResponse lresp;
      ASSERT_TRUE(worker_->LeaseJob(&lctx, lreq, &lresp).ok());
      if (!lresp.has_lease()) break;
      const v1::JobSummary& s = lresp.lease().job().summary();
      // Irrational-looking values, so that any difference in summation or rounding shows.
      const double full = 0.6 + 0.02 * std::log2(static_cast<double>(s.lc_rate())) + std::sqrt(2.0) * 0.003 * s.seed() +
                          (s.spatial() == "frozen" ? 0.01 : 0.0);
      const double subset = full - 0.0123 + 0.001 * s.seed();
      json result = {{"final", {{"test_accuracy", full}, {"test_loss", 1 - full}}},
                     {"evaluation", {{"clean", {{"accuracy", subset}, {"n", 100}}}}}};
      grpc::ClientContext cctx;
      cctx.AddMetadata("authorization", std::string("Bearer ") + kWorker);
      v1::CompleteJobRequest creq;
      creq.set_lease_token(lresp.lease().lease_token());
      creq.set_result_json(result.dump());
      v1::CompleteJobResponse cresp;
      ASSERT_TRUE(worker_->CompleteJob(&cctx, creq, &cresp).ok());
    }
  }

  // (row value, col value) -> (mean, std, n) of the CLI's JSON cells.
  using Cells = std::map<std::pair<std::string, std::string>, std::tuple<double, double, int64_t>>;
  static Cells CliCells(const json& doc, const std::string& row, const std::string& col) {
    Cells out;
    for (const auto& c : doc["cells"]) {
      out[{c["row"][row].dump(), c["col"][col].dump()}] = {c["mean"], c["std"], c["n"]};
    }
    return out;
  }
  static Cells DashboardCells(const json& doc) {
    Cells out;
    for (size_t r = 0; r < doc["rows"].size(); ++r) {
      for (size_t c = 0; c < doc["cols"].size(); ++c) {
        const json& cell = doc["cells"][r][c];
        if (!cell.is_null()) out[{doc["rows"][r].dump(), doc["cols"][c].dump()}] = {cell["mean"], cell["std"], cell["n"]};
      }
    }
    return out;
  }

  fs::path dir_;
  int port_ = 0, http_port_ = 0, runs_ = 0;
  std::string http_host_;
  std::unique_ptr<ChildProcess> coordinator_;
  std::unique_ptr<v1::WorkerService::Stub> worker_;
};

TEST_F(ResultsAgreeTest, CliJsonAndDashboardApiReturnTheSameCells) {
  json spec = {{"name", "agree"},
               {"base",
                {{"data", {{"name", "synthetic"}}},
                 {"model", {{"depth", 8}, {"width", 8}}},
                 {"train", {{"epochs", 1}}},
                 {"resources", {{"device", "cpu"}}}}},
               {"grid", {{"model.conv.lc_rate", {1, 4, 16}}, {"model.conv.spatial", {"frozen", "learned"}}}},
               {"seeds", {0, 1, 2, 3}}};
  std::ofstream(dir_ / "spec.json") << spec.dump();
  int code = 0;
  std::string out = Cli({"submit", (dir_ / "spec.json").string()}, &code);
  ASSERT_EQ(code, 0) << out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("submitted sweep (\\d+)"))) << out;
  const std::string sweep = m[1];
  CompleteAll();

  const std::string rows = "model.conv.lc_rate", cols = "model.conv.spatial";
  // The default figure first (no --metric / metric=): both pick final.test_accuracy.
  for (const std::string metric : {"", "evaluation.clean.accuracy"}) {
    std::vector<std::string> args = {"results", sweep, "--format", "json", "--rows", rows, "--cols", cols};
    if (!metric.empty()) args.insert(args.end(), {"--metric", metric});
    const json cli = json::parse(Cli(args, &code));
    ASSERT_EQ(code, 0);
    const json api = Dashboard("/api/v1/sweeps/" + sweep + "/results?rows=" + rows + "&cols=" + cols +
                               (metric.empty() ? "" : "&metric=" + metric));
    EXPECT_EQ(cli["metric"], api["metric"]);
    EXPECT_EQ(api["metric"], metric.empty() ? "final.test_accuracy" : metric);
    const Cells a = CliCells(cli, rows, cols), b = DashboardCells(api);
    ASSERT_EQ(a.size(), 6u);
    EXPECT_EQ(a, b);  // bit for bit: one flatten, one ComputeStats
    for (const auto& [key, stats] : a) EXPECT_EQ(std::get<2>(stats), 4) << key.first << " " << key.second;
  }
}

}  // namespace
}  // namespace lcsweep
