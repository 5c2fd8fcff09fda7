// Compute accounting in the coordinator: one AttemptUsage row per lease,
// created at the lease, its figures replaced by heartbeats and final calls,
// its outcome set by whatever ended the lease (complete, fail, release,
// expiry, cancel), on both stores (the in-memory fake and real SQLite, which
// must agree), and kept across a restart.
#include <gtest/gtest.h>

#include "server/core/coordinator.h"
#include "server/store/sqlite_store.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/memory_store.h"
#include "tests/server/temp_dir.h"
#include "tests/server/test_specs.h"

namespace lcsweep {
namespace {

using ::lcsweep::testing::GridSpec;
using ::lcsweep::testing::TempDir;

constexpr int64_t kTtl = 10'000;

ResourceUsage Usage(double cpu, int64_t images) {
  ResourceUsage u;
  u.wall_seconds = cpu * 1.5;
  u.cpu_seconds = cpu;
  u.device_kind = "cpu";
  u.device_model = "Test CPU";
  u.images = images;
  u.peak_host_bytes = 1 << 20;
  u.energy_joules = cpu * 10;
  u.energy_source = "rapl";
  return u;
}

class UsageAccountingTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam()) {
      auto s = SqliteStore::Open(dir_.File("u.db"));
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      sqlite_ = std::move(s).value();
      store_ = sqlite_.get();
    } else {
      store_ = &memory_;
    }
    Start();
  }

  void Start() {
    CoordinatorOptions options;
    options.lease_ttl_ms = kTtl;
    auto c = Coordinator::Create(store_, &clock_, options);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    coord_ = std::move(c).value();
  }

  int64_t Submit(int jobs) {
    std::vector<int> rates;
    for (int i = 1; i <= jobs; ++i) rates.push_back(i);
    SubmitSweepRequest r;
    r.spec_json = GridSpec("usage", rates, {0}, 0, /*max_attempts=*/5);
    auto res = coord_->SubmitSweep(r);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    return res.ok() ? res->sweep_id : 0;
  }

  Lease LeaseOne() {
    if (worker_ == 0) {
      WorkerRecord w;
      w.name = "w";
      w.host = "h";
      worker_ = coord_->RegisterWorker(w)->worker_id;
    }
    LeaseRequest r;
    r.worker_id = worker_;
    auto l = coord_->LeaseJob(r);
    EXPECT_TRUE(l.ok() && l->has_value());
    return l.ok() && l->has_value() ? **l : Lease{};
  }

  void Beat(const Lease& l, const ResourceUsage& u) {
    HeartbeatRequest h;
    h.token = l.token;
    h.usage = u;
    ASSERT_TRUE(coord_->Heartbeat(h).ok());
  }

  std::vector<AttemptUsage> Rows(int64_t sweep) {
    ListUsageRequest r;
    r.sweep_id = sweep;
    auto rows = coord_->ListUsage(r);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.ok() ? *rows : std::vector<AttemptUsage>{};
  }

  TempDir dir_;
  FakeClock clock_;
  MemoryStore memory_;
  std::unique_ptr<SqliteStore> sqlite_;
  Store* store_ = nullptr;
  std::unique_ptr<Coordinator> coord_;
  int64_t worker_ = 0;
};

TEST_P(UsageAccountingTest, ALeaseHasOneRowWhoseFiguresTheLastReportSets) {
  const int64_t sweep = Submit(1);
  const Lease l = LeaseOne();
  std::vector<AttemptUsage> rows = Rows(sweep);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].job_id, l.job.id);
  EXPECT_EQ(rows[0].lease, 1);
  EXPECT_EQ(rows[0].attempt, 1);
  EXPECT_EQ(rows[0].worker_id, worker_);
  EXPECT_EQ(rows[0].outcome, "running");
  EXPECT_FALSE(rows[0].measured);
  EXPECT_EQ(rows[0].started_ms, clock_.NowMs());

  Beat(l, Usage(2, 640));
  rows = Rows(sweep);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(rows[0].measured);
  EXPECT_EQ(rows[0].outcome, "running");
  EXPECT_DOUBLE_EQ(rows[0].usage.cpu_seconds, 2);
  EXPECT_EQ(rows[0].usage.images, 640);

  clock_.Advance(1000);
  ASSERT_TRUE(coord_->CompleteJob(l.token, R"({"ok":1})", Usage(5, 1280)).ok());
  rows = Rows(sweep);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].outcome, "succeeded");
  EXPECT_EQ(rows[0].ended_ms, clock_.NowMs());
  EXPECT_DOUBLE_EQ(rows[0].usage.cpu_seconds, 5);
  EXPECT_DOUBLE_EQ(rows[0].usage.wall_seconds, 7.5);
  EXPECT_DOUBLE_EQ(rows[0].usage.energy_joules, 50);
  EXPECT_EQ(rows[0].usage.energy_source, "rapl");
  EXPECT_EQ(rows[0].usage.device_model, "Test CPU");
  EXPECT_EQ(rows[0].usage.images, 1280);
  EXPECT_EQ(rows[0].usage.peak_host_bytes, 1 << 20);
}

TEST_P(UsageAccountingTest, EveryWayALeaseEndsIsAccountedAndKeepsItsFigures) {
  const int64_t sweep = Submit(1);
  // 1: a retryable failure.
  Lease l = LeaseOne();
  ASSERT_TRUE(coord_->FailJob(l.token, "boom", /*retryable=*/true, Usage(1, 100)).ok());
  // 2: lost: the worker fell silent after one heartbeat.
  l = LeaseOne();
  Beat(l, Usage(3, 300));
  clock_.Advance(kTtl + 1);
  ASSERT_TRUE(coord_->ReapExpiredLeases().ok());
  // 3: released by a drain, without a measurement (an old worker).
  l = LeaseOne();
  ASSERT_TRUE(coord_->ReleaseJob(l.token, "drain").ok());
  // 4: cancelled while running; its worker's next heartbeat still tells
  // what the attempt used until then.
  l = LeaseOne();
  ASSERT_TRUE(coord_->CancelJob(l.job.id, "enough").ok());
  HeartbeatRequest h;
  h.token = l.token;
  h.usage = Usage(4, 400);
  auto beat = coord_->Heartbeat(h);
  ASSERT_TRUE(beat.ok());
  EXPECT_TRUE(beat->cancel_requested);

  const std::vector<AttemptUsage> rows = Rows(sweep);
  ASSERT_EQ(rows.size(), 4u);
  const std::vector<std::string> outcomes = {rows[0].outcome, rows[1].outcome, rows[2].outcome,
                                             rows[3].outcome};
  EXPECT_EQ(outcomes, (std::vector<std::string>{"failed", "lost", "released", "cancelled"}));
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].lease, static_cast<int64_t>(i) + 1);
    EXPECT_GT(rows[i].ended_ms, 0) << i;
  }
  EXPECT_EQ(rows[0].attempt, 1);
  EXPECT_EQ(rows[1].attempt, 2);  // the failure moved to attempt 2; the loss to 3
  EXPECT_EQ(rows[2].attempt, 3);
  EXPECT_DOUBLE_EQ(rows[0].usage.cpu_seconds, 1);
  EXPECT_TRUE(rows[1].measured);
  EXPECT_DOUBLE_EQ(rows[1].usage.cpu_seconds, 3) << "a lost attempt keeps its last heartbeat's figures";
  EXPECT_FALSE(rows[2].measured);
  EXPECT_DOUBLE_EQ(rows[3].usage.cpu_seconds, 4);
}

TEST_P(UsageAccountingTest, RowsPageInJobLeaseOrderAndSurviveARestart) {
  const int64_t sweep = Submit(3);
  for (int i = 0; i < 3; ++i) {
    const Lease l = LeaseOne();
    ASSERT_TRUE(coord_->CompleteJob(l.token, "{}", Usage(i + 1, 10)).ok());
  }
  ListUsageRequest r;
  r.sweep_id = sweep;
  r.limit = 2;
  auto page1 = coord_->ListUsage(r);
  ASSERT_TRUE(page1.ok());
  ASSERT_EQ(page1->size(), 2u);
  r.after_job_id = page1->back().job_id;
  r.after_lease = page1->back().lease;
  auto page2 = coord_->ListUsage(r);
  ASSERT_TRUE(page2.ok());
  ASSERT_EQ(page2->size(), 1u);
  EXPECT_GT(page2->front().job_id, page1->back().job_id);

  ListUsageRequest one;
  one.job_id = page2->front().job_id;
  EXPECT_EQ(coord_->ListUsage(one)->size(), 1u);
  EXPECT_EQ(coord_->ListUsage(ListUsageRequest{}).status().code(), StatusCode::kInvalidArgument);
  ListUsageRequest unknown;
  unknown.sweep_id = 999;
  EXPECT_EQ(coord_->ListUsage(unknown).status().code(), StatusCode::kNotFound);

  coord_.reset();
  Start();
  const std::vector<AttemptUsage> rows = Rows(sweep);
  ASSERT_EQ(rows.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(rows[i].outcome, "succeeded");
    EXPECT_DOUBLE_EQ(rows[i].usage.cpu_seconds, i + 1);
  }
}

INSTANTIATE_TEST_SUITE_P(Stores, UsageAccountingTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Sqlite" : "Memory"; });

}  // namespace
}  // namespace lcsweep
