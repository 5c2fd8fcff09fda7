// JsonApi (the dashboard's JSON API) on a real Coordinator + SqliteStore,
// seeded through the Coordinator API. Aggregates are checked against an
// independent computation from the jobs' own result documents.
#include "server/http/json_api.h"

#include <cmath>
#include <filesystem>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server/core/clock.h"
#include "server/store/sqlite_store.h"
#include "tests/web/seed_data.h"

namespace lcsweep {
namespace {

using json = nlohmann::json;

std::string Spec(const std::string& dataset = "cifar10") {
  return json{{"name", "api_test"},
              {"base", {{"data", {{"name", dataset}}}, {"model", {{"depth", 20}, {"width", 16}}}}},
              {"grid", {{"model.conv.lc_rate", {1, 8, 128}}, {"model.conv.spatial", {"frozen", "learned"}}}},
              {"seeds", {0, 1, 2}}}
      .dump();
}

class HttpApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("lcsweep_http_api_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto store = SqliteStore::Open((dir_ / "c.db").string());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    auto c = Coordinator::Create(store_.get(), SystemClock::Get());
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    coordinator_ = std::move(*c);
    api_ = std::make_unique<JsonApi>(coordinator_.get());
  }
  void TearDown() override {
    api_.reset();
    coordinator_->Shutdown();
    coordinator_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  webtest::SeedSummary SeedIt(int64_t complete, int64_t running = 0, int64_t steps = 20) {
    webtest::SeedOptions o;
    o.spec_json = Spec();
    o.complete = complete;
    o.keep_running = running;
    o.steps_per_job = steps;
    auto s = webtest::Seed(coordinator_.get(), o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return *s;
  }
  ApiResponse Get(const std::string& path, std::map<std::string, std::string> q = {}, std::string role = "") {
    ApiRequest r;
    r.path = path;
    r.query = std::move(q);
    r.role = std::move(role);
    return api_->Handle(r);
  }
  ApiResponse Post(const std::string& path, std::string role) {
    ApiRequest r;
    r.method = "POST";
    r.path = path;
    r.role = std::move(role);
    r.token_presented = !r.role.empty();
    return api_->Handle(r);
  }
  // final.test_accuracy (the default figure) of each succeeded job, keyed by (spatial, lc_rate), from the job documents.
  std::map<std::pair<std::string, int64_t>, std::vector<double>> Independent(const std::vector<int64_t>& ids) {
    std::map<std::pair<std::string, int64_t>, std::vector<double>> out;
    for (int64_t id : ids) {
      auto job = coordinator_->GetJob(id);
      const json cfg = json::parse(job->config_json);
      const json res = json::parse(job->result_json);
      out[{cfg["model"]["conv"]["spatial"], cfg["model"]["conv"]["lc_rate"]}].push_back(
          res["final"]["test_accuracy"]);
    }
    return out;
  }

  std::filesystem::path dir_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<Coordinator> coordinator_;
  std::unique_ptr<JsonApi> api_;
};

TEST_F(HttpApiTest, AblationIsMeanAndStdErrorOverSeeds) {
  auto seeded = SeedIt(/*complete=*/18);
  auto r = Get("/api/v1/sweeps/" + std::to_string(seeded.sweep_id) + "/ablation");
  ASSERT_EQ(r.status, 200) << r.body.dump();
  // The full test set's accuracy, not the evaluation subset's (they differ in the seeded results).
  EXPECT_EQ(r.body["metric"], "final.test_accuracy");
  EXPECT_TRUE(r.body["log_x"]);
  auto expected = Independent(seeded.succeeded);
  ASSERT_EQ(r.body["series"].size(), 2u);
  for (const auto& s : r.body["series"]) {
    const std::string spatial = s["label"] == "LC frozen" ? "frozen" : "learned";
    ASSERT_EQ(s["points"].size(), 3u) << s.dump();
    for (const auto& p : s["points"]) {
      const auto& vals = expected.at({spatial, p["x"].get<int64_t>()});
      double mean = 0;
      for (double v : vals) mean += v;
      mean /= double(vals.size());
      double ss = 0;
      for (double v : vals) ss += (v - mean) * (v - mean);
      const double se = std::sqrt(ss / double(vals.size() - 1)) / std::sqrt(double(vals.size()));
      EXPECT_EQ(p["n"], 3);
      EXPECT_NEAR(p["mean"].get<double>(), mean, 1e-12);
      EXPECT_NEAR(p["stderr"].get<double>(), se, 1e-12);
    }
  }
}

TEST_F(HttpApiTest, AblationPoolsAxesThatAreNotLinesExactly) {
  auto seeded = SeedIt(18);
  // One line per conv mode: frozen and learned LC pooled at each E (6 jobs).
  auto r = Get("/api/v1/sweeps/" + std::to_string(seeded.sweep_id) + "/ablation", {{"series", "model.conv.mode"}});
  ASSERT_EQ(r.status, 200) << r.body.dump();
  ASSERT_EQ(r.body["series"].size(), 1u);
  EXPECT_EQ(r.body["pooled_axes"], json::array({"model.conv.spatial"}));
  auto expected = Independent(seeded.succeeded);
  for (const auto& p : r.body["series"][0]["points"]) {
    std::vector<double> vals = expected.at({"frozen", p["x"].get<int64_t>()});
    const auto& l = expected.at({"learned", p["x"].get<int64_t>()});
    vals.insert(vals.end(), l.begin(), l.end());
    double mean = 0;
    for (double v : vals) mean += v;
    mean /= double(vals.size());
    double ss = 0;
    for (double v : vals) ss += (v - mean) * (v - mean);
    EXPECT_EQ(p["n"], 6);
    EXPECT_NEAR(p["mean"].get<double>(), mean, 1e-12);
    EXPECT_NEAR(p["std"].get<double>(), std::sqrt(ss / 5), 1e-12);
  }
}

TEST_F(HttpApiTest, PivotShowsPublishedNumbersWhereTheConfigMatches) {
  auto seeded = SeedIt(18);
  auto r = Get("/api/v1/sweeps/" + std::to_string(seeded.sweep_id) + "/results");
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body["rows"], json::array({1, 8, 128}));
  EXPECT_EQ(r.body["cols"], json::array({"LC frozen", "LC learned"}));
  EXPECT_EQ(r.body["published_cells"], 2);  // E = 128 on CIFAR-10, frozen and learned
  EXPECT_DOUBLE_EQ(r.body["cells"][2][0]["published"]["mean"].get<double>(), 0.9189);
  EXPECT_DOUBLE_EQ(r.body["cells"][2][1]["published"]["mean"].get<double>(), 0.9139);
  EXPECT_DOUBLE_EQ(r.body["cells"][2][0]["published"]["std"].get<double>(), 0.0010);
  EXPECT_FALSE(r.body["cells"][0][0].contains("published"));
  // The evaluation subset's accuracy does not compare with the full test set's published numbers.
  auto subset = Get("/api/v1/sweeps/" + std::to_string(seeded.sweep_id) + "/results",
                    {{"metric", "evaluation.clean.accuracy"}});
  EXPECT_EQ(subset.body["published_cells"], 0);
  EXPECT_NE(subset.body["published_note"], "");
  // Not an accuracy: no published numbers.
  auto loss = Get("/api/v1/sweeps/" + std::to_string(seeded.sweep_id) + "/results", {{"metric", "evaluation.clean.loss"}});
  EXPECT_EQ(loss.body["published_cells"], 0);
}

TEST_F(HttpApiTest, ResultsFollowNewCompletions) {
  auto seeded = SeedIt(/*complete=*/6, /*running=*/0);
  const std::string path = "/api/v1/sweeps/" + std::to_string(seeded.sweep_id) + "/ablation";
  auto count = [&] {
    int64_t n = 0;
    auto r = Get(path);
    EXPECT_EQ(r.status, 200) << r.body.dump();
    for (const auto& s : r.body["series"]) {
      for (const auto& p : s["points"]) n += p["n"].get<int64_t>();
    }
    return n;
  };
  EXPECT_EQ(count(), 6);
  // Run two more jobs through the worker API; the cached aggregate must see them.
  auto w = coordinator_->RegisterWorker(WorkerRecord{0, "late", "h", {}, 1, 1, {}, {}, 0, 0, {}});
  ASSERT_TRUE(w.ok());
  for (int i = 0; i < 2; ++i) {
    LeaseRequest lr;
    lr.worker_id = w->worker_id;
    auto lease = coordinator_->LeaseJob(lr);
    ASSERT_TRUE(lease.ok() && lease->has_value());
    ASSERT_TRUE(coordinator_->CompleteJob((*lease)->token, webtest::SyntheticResultJson((*lease)->job.config_json)).ok());
  }
  EXPECT_EQ(count(), 8);
}

TEST_F(HttpApiTest, JobTablePaginatesFiltersAndSortsOnTheServer) {
  auto seeded = SeedIt(12, 2);
  const std::string path = "/api/v1/sweeps/" + std::to_string(seeded.sweep_id) + "/jobs";
  auto page = Get(path, {{"limit", "5"}, {"offset", "15"}});
  ASSERT_EQ(page.status, 200) << page.body.dump();
  EXPECT_EQ(page.body["total"], 18);
  EXPECT_EQ(page.body["jobs"].size(), 3u);
  auto frozen8 = Get(path, {{"filter", "lc_rate=8 spatial=frozen"}});
  EXPECT_EQ(frozen8.body["total"], 3);
  for (const auto& j : frozen8.body["jobs"]) EXPECT_EQ(j["axes"]["model.conv.lc_rate"], 8);
  auto big = Get(path, {{"filter", "lc_rate>=8"}, {"state", "succeeded,running"}});
  for (const auto& j : big.body["jobs"]) {
    EXPECT_GE(j["axes"]["model.conv.lc_rate"].get<int>(), 8);
    EXPECT_NE(j["state"], "queued");
  }
  auto sorted = Get(path, {{"sort", "metric"}, {"order", "desc"}, {"metric", "evaluation.clean.accuracy"}, {"limit", "1000"}});
  double prev = 2;
  int with_metric = 0;
  for (const auto& j : sorted.body["jobs"]) {
    if (j["metric"].is_null()) continue;  // unfinished jobs sort last
    EXPECT_LE(j["metric"].get<double>(), prev);
    prev = j["metric"].get<double>();
    ++with_metric;
  }
  EXPECT_EQ(with_metric, 12);
  EXPECT_TRUE(sorted.body["jobs"].back()["metric"].is_null());
  EXPECT_EQ(Get(path, {{"limit", "0"}}).status, 400);
  EXPECT_EQ(Get(path, {{"state", "sleeping"}}).status, 400);
  EXPECT_EQ(Get(path, {{"sort", "colour"}}).status, 400);
  EXPECT_EQ(Get("/api/v1/sweeps/999/jobs").status, 404);
  EXPECT_EQ(Get("/api/v1/sweeps/abc").status, 400);
}

TEST_F(HttpApiTest, MetricsAreDownsampledOnTheServer) {
  auto seeded = SeedIt(1, 0, /*steps=*/5000);
  const int64_t id = seeded.succeeded.at(0);
  const std::string path = "/api/v1/jobs/" + std::to_string(id) + "/metrics";
  auto full = Get(path, {{"names", "train/loss"}, {"max_points", "0"}});
  ASSERT_EQ(full.status, 200) << full.body.dump();
  EXPECT_EQ(full.body["series"][0]["total"], 5000);
  EXPECT_EQ(full.body["series"][0]["points"].size(), 5000u);
  auto small = Get(path, {{"names", "train/loss,train/lr"}, {"max_points", "100"}});
  ASSERT_EQ(small.body["series"].size(), 2u);
  const auto& pts = small.body["series"][0]["points"];
  EXPECT_TRUE(small.body["series"][0]["downsampled"]);
  ASSERT_EQ(pts.size(), 100u);
  EXPECT_EQ(pts.front(), full.body["series"][0]["points"].front());
  EXPECT_EQ(pts.back(), full.body["series"][0]["points"].back());
  // A finished job's down-sampled curve is served from the cache: same answer.
  EXPECT_EQ(Get(path, {{"names", "train/loss,train/lr"}, {"max_points", "100"}}).body, small.body);
  auto tail = Get(path, {{"names", "train/loss"}, {"after_step", "4989"}});
  EXPECT_EQ(tail.body["series"][0]["points"].size(), 10u);
  EXPECT_EQ(Get(path, {{"max_points", "-1"}}).status, 400);
  EXPECT_EQ(Get("/api/v1/jobs/424242/metrics").status, 404);
}

TEST_F(HttpApiTest, CancelAndRetryNeedAnAdminToken) {
  auto seeded = SeedIt(0, 1);
  const int64_t id = seeded.running.at(0).job_id;
  const std::string base = "/api/v1/jobs/" + std::to_string(id);
  auto anon = Post(base + "/cancel", "");
  EXPECT_EQ(anon.status, 401);
  EXPECT_FALSE(anon.body["hint"].get<std::string>().empty());
  EXPECT_EQ(Post(base + "/cancel", "read-only").status, 403);
  EXPECT_EQ(Post(base + "/cancel", "worker").status, 403);
  EXPECT_EQ(coordinator_->GetJob(id)->state, JobState::kRunning);
  auto ok = Post(base + "/cancel", "admin");
  ASSERT_EQ(ok.status, 200) << ok.body.dump();
  EXPECT_EQ(coordinator_->GetJob(id)->state, JobState::kCancelled);
  EXPECT_EQ(Post(base + "/retry", "read-only").status, 403);
  EXPECT_EQ(Post(base + "/retry", "admin").status, 200);
  EXPECT_EQ(coordinator_->GetJob(id)->state, JobState::kQueued);
  EXPECT_EQ(Post(base + "/retry", "admin").status, 409);  // queued: nothing to retry
  EXPECT_EQ(Get(base + "/cancel").status, 405);
  auto who = Get("/api/v1/whoami", {}, "admin");
  EXPECT_EQ(who.body["can_mutate"], true);
}

TEST_F(HttpApiTest, JobDetailCarriesConfigResultEventsAndPublishedNumber) {
  auto seeded = SeedIt(18);
  for (int64_t id : seeded.succeeded) {
    auto j = Get("/api/v1/jobs/" + std::to_string(id));
    ASSERT_EQ(j.status, 200);
    EXPECT_EQ(j.body["state"], "succeeded");
    EXPECT_TRUE(j.body["result"]["evaluation"]["fgsm"].is_array());
    EXPECT_EQ(j.body["config"]["data"]["name"], "cifar10");
    const bool paper = j.body["summary"]["model.conv.lc_rate"] == 128;
    EXPECT_EQ(j.body.contains("published"), paper) << j.body["summary"].dump();
    EXPECT_EQ(j.body["epochs_done"], j.body["config"]["train"]["epochs"]);
    auto ev = Get("/api/v1/jobs/" + std::to_string(id) + "/events");
    ASSERT_EQ(ev.status, 200);
    EXPECT_EQ(ev.body["events"].back()["to"], "succeeded");
  }
  auto schema = Get("/api/v1/schema");
  ASSERT_EQ(schema.status, 200);
  EXPECT_EQ(schema.body["default_figure"], "final.test_accuracy");
  auto workers = Get("/api/v1/workers");
  ASSERT_EQ(workers.body["workers"].size(), 1u);
  EXPECT_TRUE(workers.body["workers"][0]["alive"]);
}

}  // namespace
}  // namespace lcsweep
