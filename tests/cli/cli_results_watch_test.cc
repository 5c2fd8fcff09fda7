// End-to-end tests of the `lcsweep` binary (tests/cli/cli_fixture.h):
// results in every format, published numbers, export and watch.
#include "tests/cli/cli_fixture.h"

namespace lcsweep::cli_testing {
namespace {

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

}  // namespace
}  // namespace lcsweep::cli_testing
