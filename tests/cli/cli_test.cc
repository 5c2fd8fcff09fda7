// (Long: one end-to-end case per CLI command, sharing one coordinator harness.)
// End-to-end tests of the `lcsweep` binary against a real lcsweep-coordinator
// on loopback (fresh SQLite file per test, tokens on). Jobs are completed
// without training: the test itself acts as a worker through WorkerService
// (Register, LeaseJob, ReportMetrics, CompleteJob) with result documents it
// constructs, and checks the CLI's numbers against its own computation.
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
#include "tests/integration/child_process.h"

namespace lcsweep {
namespace {

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

// A small valid sweep on synthetic data (never trained here).
nlohmann::json TestSweep(const std::string& name, std::vector<int> lc_rates, std::vector<int> seeds) {
  return {{"name", name},
          {"base",
           {{"data", {{"name", "synthetic"}}},
            {"model", {{"arch", "resnet_cifar"}, {"depth", 8}, {"width", 8}, {"conv", {{"mode", "lc"}}}}},
            {"train", {{"epochs", 1}}},
            {"resources", {{"device", "cpu"}}}}},
          {"grid", {{"model.conv.lc_rate", lc_rates}, {"model.conv.spatial", {"frozen", "learned"}}}},
          {"seeds", seeds}};
}

// The accuracy the fake worker reports for a job: depends on every axis and
// the seed, so means and stds differ per cell.
double FakeAccuracy(int64_t lc_rate, const std::string& spatial, int64_t seed) {
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
    std::filesystem::permissions(dir_ + "/tokens", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
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
Stats Compute(const std::vector<double>& v) {
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

std::vector<std::vector<std::string>> ParseCsv(const std::string& text) {
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

std::string Fixed2(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", v);
  return buf;
}

TEST_F(CliTest, InvalidSpecListsEveryFieldErrorWithPathsAndExits2) {
  nlohmann::json spec = TestSweep("bad", {1, -2}, {0});
  spec["base"]["model"]["conv"]["intermdiate"] = "relu";
  // Validated locally first: the coordinator is not even needed.
  CliResult r = Cli({"--coordinator", "127.0.0.1:1", "submit", WriteSpec(spec, "bad.json")}, /*raw=*/true);
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("grid[\"model.conv.lc_rate\"][1]"));
  EXPECT_THAT(r.err, HasSubstr("base.model.conv.intermdiate"));
  EXPECT_THAT(r.err, HasSubstr("did you mean \"intermediate\""));
  EXPECT_THAT(r.err, HasSubstr("2 problems"));
  // Not JSON at all: line and column.
  std::ofstream(dir_ + "/broken.json") << "{\"name\": \"x\",\n \"grid\": {]}";
  r = Cli({"submit", dir_ + "/broken.json"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("line 2"));
  r = Cli({"submit", dir_ + "/missing.json"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("cannot read"));
}

TEST_F(CliTest, DryRunSubmitDuplicateAndListings) {
  nlohmann::json spec = TestSweep("grid_a", {1, 4}, {0, 1});
  std::string path = WriteSpec(spec, "a.json");
  CliResult dry = Cli({"submit", path, "--dry-run"});
  ASSERT_EQ(dry.code, 0) << dry.err;
  EXPECT_THAT(dry.out, HasSubstr("8 jobs; nothing was submitted"));
  EXPECT_THAT(dry.out, HasSubstr("model.conv.lc_rate: 1 (4) 4 (4)"));
  EXPECT_THAT(dry.out, HasSubstr("model.conv.spatial: frozen (4) learned (4)"));
  EXPECT_THAT(dry.out, HasSubstr("8 new, 0 already queued/running, 0 already done"));
  CliResult ls = Cli({"ls"});
  EXPECT_EQ(ls.code, 0);
  EXPECT_THAT(ls.out, HasSubstr("no sweeps yet"));  // the dry run stored nothing

  CliResult sub = Cli({"submit", path, "--priority", "5"});
  ASSERT_EQ(sub.code, 0) << sub.err;
  EXPECT_THAT(sub.out, HasSubstr("8 jobs, 8 created, 0 reused"));
  CliResult dup = Cli({"submit", path});
  EXPECT_EQ(dup.code, 0);
  EXPECT_THAT(dup.out, HasSubstr("8 jobs, 0 created, 8 reused"));
  EXPECT_THAT(dup.out, HasSubstr("8 already queued/running"));
  dry = Cli({"submit", path, "--dry-run"});
  EXPECT_THAT(dry.out, HasSubstr("0 new, 8 already queued/running"));

  // A sweep overlapping half of the first: 4 reused.
  CliResult overlap = Cli({"submit", WriteSpec(TestSweep("grid_b", {4, 16}, {0, 1}), "b.json")});
  EXPECT_THAT(overlap.out, HasSubstr("8 jobs, 4 created, 4 reused"));

  ls = Cli({"ls"});
  EXPECT_EQ(ls.code, 0);
  EXPECT_THAT(ls.out, HasSubstr("grid_a"));
  EXPECT_THAT(ls.out, HasSubstr("grid_b"));
  CliResult jobs = Cli({"jobs", "--sweep", "1"});
  EXPECT_EQ(jobs.code, 0);
  EXPECT_THAT(jobs.out, HasSubstr("8 jobs"));
  EXPECT_THAT(jobs.out, HasSubstr("lc_rate=4 spatial=learned seed=1"));
  jobs = Cli({"jobs", "--state", "running,failed"});
  EXPECT_THAT(jobs.out, HasSubstr("0 jobs"));
  jobs = Cli({"jobs", "--state", "bogus"});
  EXPECT_EQ(jobs.code, 2);
  jobs = Cli({"jobs", "--json"});
  nlohmann::json j = nlohmann::json::parse(jobs.out);
  EXPECT_EQ(j["jobs"].size(), 12u);

  CliResult show = Cli({"show", "1"});
  EXPECT_EQ(show.code, 0) << show.err;
  EXPECT_THAT(show.out, HasSubstr("job 1  queued"));
  EXPECT_THAT(show.out, HasSubstr("attempt:      1 of 3"));
  EXPECT_THAT(show.out, HasSubstr("\"lc_rate\": 1"));
  EXPECT_THAT(show.out, HasSubstr("submitted"));  // history from the audit trail
  CliResult missing = Cli({"show", "999"});
  EXPECT_EQ(missing.code, 3);
  EXPECT_THAT(missing.err, HasSubstr("999"));
  EXPECT_EQ(Cli({"watch", "999"}).code, 3);
  EXPECT_EQ(Cli({"results", "999"}).code, 3);

  CliResult ev = Cli({"events", "--sweep", "1"});
  EXPECT_EQ(ev.code, 0);
  EXPECT_THAT(ev.out, HasSubstr("(new) -> queued"));
}

TEST_F(CliTest, DryRunNeedsNoCoordinatorAndWithOneShowsWhatIsDone) {
  std::string path = WriteSpec(TestSweep("offline", {1, 4}, {0}), "o.json");
  std::string dead = "127.0.0.1:" + std::to_string(::lcsweep::testing::PickFreePort());
  // No coordinator: the local expansion, exit 0, and a note why it is alone.
  CliResult r = Cli({"--coordinator", dead, "--timeout", "1", "submit", path, "--dry-run"}, /*raw=*/true);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("4 jobs; nothing was submitted"));
  EXPECT_THAT(r.out, HasSubstr("model.conv.lc_rate: 1 (2) 4 (2)"));
  EXPECT_THAT(r.out, HasSubstr("offline"));
  EXPECT_THAT(r.err, HasSubstr("cannot reach the coordinator at " + dead));
  // --offline does not even try; --json gives the plan in SubmitSweepResponse's shape.
  r = Cli({"--coordinator", dead, "submit", path, "--dry-run", "--offline", "--json"}, /*raw=*/true);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(nlohmann::json::parse(r.out)["jobs"].size(), 4u);
  // A real submission still needs the coordinator.
  r = Cli({"--coordinator", dead, "--timeout", "1", "submit", path}, /*raw=*/true);
  EXPECT_EQ(r.code, 5);

  // With the coordinator: finished jobs are reported as already done.
  Submit(TestSweep("offline", {1}, {0}));
  ASSERT_EQ(CompleteAll(RegisterWorker()).size(), 2u);
  r = Cli({"submit", path, "--dry-run"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("on the coordinator: 2 new, 0 already queued/running, 2 already done"));
  EXPECT_THAT(r.out, HasSubstr("reuse result [succeeded]"));
  EXPECT_EQ(nlohmann::json::parse(Cli({"ls", "--json"}).out)["sweeps"].size(), 1u);  // the dry run stored nothing
}

TEST_F(CliTest, CancelAndRetryJobsAndSweeps) {
  int64_t sweep = Submit(TestSweep("cancel_me", {1, 2}, {0}));
  ASSERT_EQ(sweep, 1);
  CliResult c = Cli({"cancel", "2", "--reason", "testing"});
  ASSERT_EQ(c.code, 0) << c.err;
  EXPECT_THAT(c.out, HasSubstr("job 2 is cancelled"));
  EXPECT_THAT(Cli({"events", "2"}).out, HasSubstr("testing"));
  CliResult r = Cli({"retry", "2"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("job 2 is queued"));
  // Retrying a queued job is refused: exit 1 with the coordinator's reason.
  r = Cli({"retry", "2"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("retrying job 2"));

  // A running job, then the whole sweep.
  int64_t worker = RegisterWorker();
  v1::Lease lease;
  ASSERT_TRUE(Lease(worker, &lease));
  c = Cli({"cancel", "--sweep", "1"});
  ASSERT_EQ(c.code, 0) << c.err;
  EXPECT_THAT(c.out, HasSubstr("3 queued jobs cancelled, 1 running jobs told to stop"));
  EXPECT_THAT(Cli({"jobs", "--sweep", "1", "--state", "cancelled"}).out, HasSubstr("4 jobs"));
  r = Cli({"retry", "--sweep", "1"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("re-queued 4 of 4 jobs"));
  EXPECT_THAT(Cli({"jobs", "--state", "queued"}).out, HasSubstr("4 jobs"));
  EXPECT_EQ(Cli({"cancel"}).code, 2);
  EXPECT_EQ(Cli({"cancel", "77"}).code, 3);
}

TEST_F(CliTest, ResultsInEveryFormatMatchAnIndependentComputation) {
  int64_t sweep = Submit(TestSweep("results", {1, 8}, {0, 1, 2}));
  int64_t worker = RegisterWorker();
  std::map<int64_t, double> done = CompleteAll(worker);
  ASSERT_EQ(done.size(), 12u);
  // Expected per (lc_rate, spatial), computed from what this test reported.
  std::map<std::pair<int64_t, std::string>, std::vector<double>> cells;
  for (int64_t lc : {1, 8}) {
    for (std::string sp : {"frozen", "learned"}) {
      for (int64_t seed : {0, 1, 2}) cells[{lc, sp}].push_back(FakeAccuracy(lc, sp, seed));
    }
  }
  const std::string s = std::to_string(sweep);

  // Default: metric final.test_accuracy in %, rows lc_rate, cols spatial.
  CliResult table = Cli({"results", s});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("final.test_accuracy (%)"));
  EXPECT_THAT(table.out, HasSubstr("spatial=frozen"));
  for (const auto& [key, values] : cells) {
    Stats st = Compute(values);
    std::string cell = Fixed2(st.mean * 100) + " \xC2\xB1 " + Fixed2(st.std * 100) + " (3)";
    EXPECT_THAT(table.out, HasSubstr(cell)) << key.first << " " << key.second;
  }
  CliResult md = Cli({"results", s, "--format", "markdown", "--rows", "model.conv.spatial", "--cols",
                      "model.conv.lc_rate"});
  ASSERT_EQ(md.code, 0) << md.err;
  EXPECT_THAT(md.out, HasSubstr("| spatial | lc_rate=1 | lc_rate=8 |"));
  {
    Stats a = Compute(cells[{1, "learned"}]), b = Compute(cells[{8, "learned"}]);
    EXPECT_THAT(md.out, HasSubstr("| learned | " + Fixed2(a.mean * 100) + " \xC2\xB1 " + Fixed2(a.std * 100) +
                                      " (3) | " + Fixed2(b.mean * 100) + " \xC2\xB1 " + Fixed2(b.std * 100) +
                                      " (3) |"));
  }
  CliResult latex = Cli({"results", s, "--format", "latex"});
  ASSERT_EQ(latex.code, 0);
  EXPECT_THAT(latex.out, HasSubstr("\\begin{tabular}{lrr}"));
  Stats f8 = Compute(cells[{8, "frozen"}]);
  EXPECT_THAT(latex.out, HasSubstr(Fixed2(f8.mean * 100) + " $\\pm$ " + Fixed2(f8.std * 100)));

  // CSV and JSON carry the raw values: compare numerically.
  CliResult csv = Cli({"results", s, "--format", "csv"});
  ASSERT_EQ(csv.code, 0);
  auto rows = ParseCsv(csv.out);
  ASSERT_EQ(rows.size(), 5u) << csv.out;
  EXPECT_EQ(rows[0], (std::vector<std::string>{"model.conv.lc_rate", "model.conv.spatial", "metric", "mean", "std", "n"}));
  for (size_t i = 1; i < rows.size(); ++i) {
    Stats st = Compute(cells[{std::stoll(rows[i][0]), rows[i][1]}]);
    EXPECT_NEAR(std::stod(rows[i][3]), st.mean, 1e-12);
    EXPECT_NEAR(std::stod(rows[i][4]), st.std, 1e-12);
    EXPECT_EQ(rows[i][5], "3");
  }
  CliResult js = Cli({"results", s, "--format", "json", "--metric", "eval.fgsm[eps=0.00392157].accuracy"});
  ASSERT_EQ(js.code, 0) << js.err;
  nlohmann::json doc = nlohmann::json::parse(js.out);
  ASSERT_EQ(doc["cells"].size(), 4u);
  for (const auto& c : doc["cells"]) {
    std::vector<double> halves;
    for (double v : cells[{c["row"]["model.conv.lc_rate"].get<int64_t>(), c["col"]["model.conv.spatial"]}])
      halves.push_back(v / 2);
    Stats st = Compute(halves);
    EXPECT_NEAR(c["mean"].get<double>(), st.mean, 1e-12);
    EXPECT_NEAR(c["std"].get<double>(), st.std, 1e-12);
  }

  // Bad choices get a clear message and exit 2.
  CliResult bad = Cli({"results", s, "--metric", "final.nope"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("final.test_accuracy"));
  bad = Cli({"results", s, "--rows", "model.depth"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("swept axes: model.conv.lc_rate, model.conv.spatial"));
  bad = Cli({"results", s, "--rows", "model.conv.lc_rate", "--cols", "-"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("model.conv.spatial vary too"));
  // No paper config here (depth 8, width 8): --vs-paper says why.
  CliResult vp = Cli({"results", s, "--vs-paper"});
  EXPECT_EQ(vp.code, 0);
  EXPECT_THAT(vp.out, HasSubstr("no group matches a published configuration"));
  EXPECT_THAT(vp.out, HasSubstr("depth 8 (paper: 20)"));
}

TEST_F(CliTest, VsPaperShowsPublishedNumbersForMatchingConfigs) {
  nlohmann::json spec = TestSweep("paper", {128}, {0});
  spec["base"]["model"]["depth"] = 20;
  spec["base"]["model"]["width"] = 16;
  spec["base"]["data"] = {{"name", "fashion_mnist"}};
  spec.erase("grid");
  spec["list"] = {{{"model.conv.mode", "learned"}},
                  {{"model.conv.lc_rate", 128}, {"model.conv.spatial", "learned"}},
                  {{"model.conv.lc_rate", 128}, {"model.conv.spatial", "frozen"}}};
  int64_t sweep = Submit(spec);
  CompleteAll(RegisterWorker());
  CliResult r = Cli({"results", std::to_string(sweep), "--vs-paper"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("93.65 \xC2\xB1 0.18"));  // plain conv, learned
  EXPECT_THAT(r.out, HasSubstr("93.44 \xC2\xB1 0.18"));  // LC learned x128
  EXPECT_THAT(r.out, HasSubstr("93.65 \xC2\xB1 0.06"));  // LC frozen x128
  CliResult csv = Cli({"results", std::to_string(sweep), "--vs-paper", "--format", "csv"});
  EXPECT_THAT(csv.out, HasSubstr("0.936500"));
}

TEST_F(CliTest, ExportRoundTrip) {
  int64_t sweep = Submit(TestSweep("export", {2, 4}, {0, 1}));
  std::map<int64_t, double> done = CompleteAll(RegisterWorker());
  ASSERT_EQ(done.size(), 8u);
  CliResult csv = Cli({"export", std::to_string(sweep), "--format", "csv"});
  ASSERT_EQ(csv.code, 0) << csv.err;
  auto rows = ParseCsv(csv.out);
  ASSERT_EQ(rows.size(), 9u);
  const auto& h = rows[0];
  auto col = [&](const std::string& name) {
    return static_cast<size_t>(std::find(h.begin(), h.end(), name) - h.begin());
  };
  ASSERT_LT(col("final.test_accuracy"), h.size());
  ASSERT_LT(col("model.conv.lc_rate"), h.size());
  for (size_t i = 1; i < rows.size(); ++i) {
    int64_t id = std::stoll(rows[i][col("job_id")]);
    EXPECT_EQ(rows[i][col("state")], "succeeded");
    EXPECT_EQ(std::stod(rows[i][col("final.test_accuracy")]), done.at(id));  // %.17g round-trips exactly
    EXPECT_EQ(FakeAccuracy(std::stoll(rows[i][col("model.conv.lc_rate")]), rows[i][col("model.conv.spatial")],
                           std::stoll(rows[i][col("seed")])),
              done.at(id));
  }
  CliResult js = Cli({"export", std::to_string(sweep), "--format", "json", "--metrics"});
  ASSERT_EQ(js.code, 0) << js.err;
  nlohmann::json doc = nlohmann::json::parse(js.out);
  ASSERT_EQ(doc.size(), 8u);
  for (const auto& job : doc) {
    int64_t id = job["job_id"];
    EXPECT_EQ(job["figures"]["final.test_accuracy"].get<double>(), done.at(id));
    EXPECT_EQ(job["config"]["model"]["conv"]["lc_rate"], job["axes"]["model.conv.lc_rate"]);
    ASSERT_EQ(job["metrics"]["train.step_loss"].size(), 3u);
    EXPECT_EQ(job["metrics"]["train.step_loss"][2]["value"].get<double>(), 2.0 / 3);
    EXPECT_EQ(job["metrics"]["test.accuracy"][0]["value"].get<double>(), done.at(id));
  }
  CliResult long_csv = Cli({"export", std::to_string(sweep), "--metrics"});
  EXPECT_EQ(ParseCsv(long_csv.out).size(), 1u + 8 * 4);
}

TEST_F(CliTest, WatchExitsWhenTheSweepIsDoneWithTheRightCode) {
  int64_t sweep = Submit(TestSweep("watched", {1, 2}, {0}));
  ChildProcess watch({LCSWEEP_CLI_BIN, "--coordinator", Address(), "--token", kAdminToken, "watch",
                      std::to_string(sweep)},
                     dir_ + "/watch");
  ASSERT_TRUE(watch.WaitForOutput("queued", std::chrono::seconds(20))) << watch.Stdout() << watch.Stderr();
  CompleteAll(RegisterWorker());
  std::optional<int> code = watch.Wait(std::chrono::seconds(30));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << watch.Stdout() << watch.Stderr();
  EXPECT_THAT(watch.Stdout(), HasSubstr("all 4 jobs succeeded"));
  EXPECT_THAT(watch.Stdout(), HasSubstr("succeeded: test accuracy"));
  EXPECT_THAT(watch.Stdout(), HasSubstr("4/4 done"));

  // A failed job: exit 1.
  int64_t second = Submit(TestSweep("failing", {32}, {0}));
  int64_t worker = RegisterWorker();
  v1::Lease lease;
  ASSERT_TRUE(Lease(worker, &lease));
  v1::FailJobRequest req;
  req.set_lease_token(lease.lease_token());
  req.set_error("out of memory (test)");
  req.set_retryable(false);
  v1::FailJobResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(worker_stub_->FailJob(WorkerContext(&ctx), req, &resp).ok());
  CompleteAll(worker);
  CliResult w = Cli({"watch", std::to_string(second)});
  EXPECT_EQ(w.code, 1) << w.out << w.err;
  EXPECT_THAT(w.out, HasSubstr("1 job did not succeed"));
}

// On a terminal, watch draws a live block (ANSI redraws) with a progress bar
// from the job's reported progress.
TEST_F(CliTest, WatchOnATerminalDrawsLiveProgressBars) {
  int64_t sweep = Submit(TestSweep("tty", {4}, {0}));
  int64_t worker = RegisterWorker();
  v1::Lease lease;
  ASSERT_TRUE(Lease(worker, &lease));
  int master = -1;
  winsize ws{};
  ws.ws_col = 200;
  ws.ws_row = 50;
  pid_t pid = forkpty(&master, nullptr, nullptr, &ws);
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::string bin = LCSWEEP_CLI_BIN, addr = Address(), s = std::to_string(sweep);
    execl(bin.c_str(), bin.c_str(), "--coordinator", addr.c_str(), "--token", kAdminToken, "watch", s.c_str(),
          "--refresh", "0", static_cast<char*>(nullptr));
    _exit(127);
  }
  std::string screen;
  auto read_until = [&](const std::string& text, std::chrono::seconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (screen.find(text) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{master, POLLIN, 0};
      if (poll(&p, 1, 100) > 0) {
        char buf[4096];
        ssize_t n = read(master, buf, sizeof(buf));
        if (n <= 0) break;
        screen.append(buf, n);
      }
    }
    return screen.find(text) != std::string::npos;
  };
  ASSERT_TRUE(read_until("1 running", std::chrono::seconds(20))) << screen;
  v1::HeartbeatRequest hb;
  hb.set_lease_token(lease.lease_token());
  hb.mutable_progress()->set_epoch(0);
  hb.mutable_progress()->set_step(50);
  (*hb.mutable_progress()->mutable_metrics())["total_steps"] = 100;
  (*hb.mutable_progress()->mutable_metrics())["epochs"] = 1;
  v1::HeartbeatResponse hresp;
  grpc::ClientContext hctx;
  ASSERT_TRUE(worker_stub_->Heartbeat(WorkerContext(&hctx), hb, &hresp).ok());
  v1::ReportMetricsRequest m;
  m.set_lease_token(lease.lease_token());
  for (auto [name, value] : {std::pair<const char*, double>{"train.step_loss", 0.75},
                             {"train.images_per_second", 640}}) {
    auto* p = m.add_points();
    p->set_name(name);
    p->set_value(value);
    p->set_step(50);
  }
  v1::ReportMetricsResponse mresp;
  grpc::ClientContext mctx;
  ASSERT_TRUE(worker_stub_->ReportMetrics(WorkerContext(&mctx), m, &mresp).ok());
  EXPECT_TRUE(read_until("50%", std::chrono::seconds(20))) << screen;
  EXPECT_TRUE(read_until("loss 0.7500", std::chrono::seconds(5))) << screen;
  EXPECT_THAT(screen, HasSubstr("\x1b[J"));  // the live block is redrawn in place
  EXPECT_THAT(screen, HasSubstr("step 50/100"));
  v1::CompleteJobRequest c;
  c.set_lease_token(lease.lease_token());
  c.set_result_json(R"({"final": {"test_accuracy": 0.5}})");
  v1::CompleteJobResponse cresp;
  grpc::ClientContext cctx;
  ASSERT_TRUE(worker_stub_->CompleteJob(WorkerContext(&cctx), c, &cresp).ok());
  CompleteAll(worker);  // the sweep's other job
  EXPECT_TRUE(read_until("all 2 jobs succeeded", std::chrono::seconds(20))) << screen;
  int status = 0;
  pid_t waited = 0;
  for (int i = 0; i < 200 && waited == 0; ++i) {
    waited = waitpid(pid, &status, WNOHANG);
    if (waited == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (waited == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    ADD_FAILURE() << "watch did not exit:\n" << screen;
  } else {
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << screen;
  }
  close(master);
}

TEST_F(CliTest, ConnectionErrorsAreClearAndHaveTheirExitCodes) {
  int dead_port = ::lcsweep::testing::PickFreePort();
  std::string dead = "127.0.0.1:" + std::to_string(dead_port);
  CliResult r = Cli({"--coordinator", dead, "--timeout", "2", "ls"}, /*raw=*/true);
  EXPECT_EQ(r.code, 5);
  EXPECT_THAT(r.err, HasSubstr("cannot reach the coordinator at " + dead));
  EXPECT_THAT(r.err, HasSubstr("is lcsweep-coordinator running?"));
  EXPECT_THAT(r.err, HasSubstr("LCSWEEP_COORDINATOR"));

  r = Cli({"--coordinator", Address(), "--token", "not-a-valid-token-at-all", "ls"}, /*raw=*/true);
  EXPECT_EQ(r.code, 4);
  EXPECT_THAT(r.err, HasSubstr("refused the token"));
  r = Cli({"--coordinator", Address(), "ls"}, /*raw=*/true);
  EXPECT_EQ(r.code, 4);
  EXPECT_THAT(r.err, HasSubstr("none was given"));
  // A worker token may not use JobService.
  r = Cli({"--coordinator", Address(), "--token", kWorkerToken, "ls"}, /*raw=*/true);
  EXPECT_EQ(r.code, 4);

  // Health needs no token.
  r = Cli({"health", Address()}, /*raw=*/true);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("SERVING"));
  r = Cli({"--timeout", "2", "health", dead}, /*raw=*/true);
  EXPECT_EQ(r.code, 5);

  r = Cli({"frobnicate"}, /*raw=*/true);
  EXPECT_EQ(r.code, 2);
  r = Cli({"--help"}, /*raw=*/true);
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("Exit codes:"));
}

TEST_F(CliTest, SettingsComeFromEnvironmentThenConfigFile) {
  // Config file only.
  fs::create_directories(dir_ + "/config/lcsweep");
  std::ofstream(dir_ + "/token-file") << kAdminToken << "\n";
  std::ofstream(dir_ + "/config/lcsweep/config.json")
      << nlohmann::json{{"coordinator", Address()}, {"token_file", dir_ + "/token-file"}}.dump();
  CliResult r = Cli({"ls"}, /*raw=*/true);
  EXPECT_EQ(r.code, 0) << r.err;
  // The environment beats the file.
  setenv("LCSWEEP_COORDINATOR", "127.0.0.1:1", 1);
  r = Cli({"--timeout", "1", "ls"}, /*raw=*/true);
  EXPECT_EQ(r.code, 5);
  EXPECT_THAT(r.err, HasSubstr("127.0.0.1:1 (from LCSWEEP_COORDINATOR)"));
  // A flag beats the environment.
  r = Cli({"ls", "--coordinator", Address()}, /*raw=*/true);
  EXPECT_EQ(r.code, 0) << r.err;
  setenv("LCSWEEP_TOKEN", "wrong-token-wrong-token", 1);
  r = Cli({"ls", "--coordinator", Address()}, /*raw=*/true);
  EXPECT_EQ(r.code, 4);
  unsetenv("LCSWEEP_COORDINATOR");
  unsetenv("LCSWEEP_TOKEN");
  // A malformed file is named.
  std::ofstream(dir_ + "/config/lcsweep/config.json") << "{\"coordinatr\": \"x\"}";
  r = Cli({"ls"}, /*raw=*/true);
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("coordinatr"));
}

}  // namespace
}  // namespace lcsweep
