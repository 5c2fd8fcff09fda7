// The core's answers to hostile or unlucky clients: exactly-once metric
// reports, non-finite values, one reporter's bad input against nine healthy
// ones, idempotent submissions, paged and step-ordered metric reads, and the
// contract of CancelJob on finished jobs. Real SqliteStore where the store's
// behaviour is the point; the MemoryStore where a fault must be injected.
#include <cmath>
#include <limits>
#include <thread>

#include <gmock/gmock.h>
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
using ::testing::HasSubstr;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// A coordinator over a real SQLite file, with `jobs` jobs leased to one worker.
class SqliteFixture : public ::testing::Test {
 protected:
  void Start(int jobs) {
    auto store = SqliteStore::Open(dir_.File("c.db"));
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    auto c = Coordinator::Create(store_.get(), &clock_, {});
    ASSERT_TRUE(c.ok());
    coord_ = std::move(c).value();
    WorkerRecord w;
    w.name = "w";
    worker_ = coord_->RegisterWorker(w)->worker_id;
    if (jobs == 0) return;
    std::vector<int> rates;
    for (int i = 1; i <= jobs; ++i) rates.push_back(i);
    SubmitSweepRequest r;
    r.spec_json = GridSpec("s", rates);
    ASSERT_TRUE(coord_->SubmitSweep(r).ok());
    for (int i = 0; i < jobs; ++i) {
      auto lease = coord_->LeaseJob({worker_, true, false, 0, ""});
      ASSERT_TRUE(lease.ok() && lease->has_value());
      leases_.push_back(**lease);
    }
  }

  std::vector<MetricPoint> Live(int64_t job_id) {
    ListMetricsRequest q;
    q.job_id = job_id;
    auto points = coord_->ListMetrics(q);
    EXPECT_TRUE(points.ok()) << points.status().ToString();
    return points.ok() ? *points : std::vector<MetricPoint>{};
  }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<Coordinator> coord_;
  int64_t worker_ = 0;
  std::vector<Lease> leases_;
};

MetricPoint Point(int64_t step, const std::string& name, double value) {
  MetricPoint p;
  p.step = step;
  p.name = name;
  p.value = value;
  return p;
}

TEST_F(SqliteFixture, AResentReportIsStoredOnceAlsoAfterARestart) {
  Start(1);
  const Lease& l = leases_[0];
  std::vector<MetricPoint> report = {Point(1, "loss", 2.0), Point(2, "loss", 1.5)};
  ASSERT_TRUE(coord_->ReportMetrics(l.token, report, /*seq=*/1).ok());
  // The reply was lost: the worker sends the very same report again.
  ASSERT_TRUE(coord_->ReportMetrics(l.token, report, /*seq=*/1).ok());
  EXPECT_EQ(Live(l.job.id).size(), 2u);
  // After a restart the store still knows report 1 of this lease.
  coord_.reset();
  auto c = Coordinator::Create(store_.get(), &clock_, {});
  ASSERT_TRUE(c.ok());
  coord_ = std::move(c).value();
  ASSERT_TRUE(coord_->ReportMetrics(l.token, report, /*seq=*/1).ok());
  ASSERT_TRUE(coord_->ReportMetrics(l.token, {Point(3, "loss", 1.0)}, /*seq=*/2).ok());
  ListMetricsRequest all;
  all.job_id = l.job.id;
  all.include_superseded = true;
  EXPECT_EQ(coord_->ListMetrics(all)->size(), 3u) << "no duplicate rows, live or not";
}

TEST_F(SqliteFixture, SeqsAreScopedToTheLeaseSoAReleasedJobStartsOver) {
  Start(1);
  Lease first = leases_[0];
  ASSERT_TRUE(coord_->ReportMetrics(first.token, {Point(1, "loss", 2.0)}, 1).ok());
  ASSERT_TRUE(coord_->ReleaseJob(first.token, "drain").ok());
  auto again = coord_->LeaseJob({worker_, true, false, 0, ""});
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ((*again)->job.attempt, first.job.attempt) << "a release keeps the attempt";
  // The new lease numbers its reports from 1 again; they are new points.
  ASSERT_TRUE(coord_->ReportMetrics((*again)->token, {Point(1, "loss", 1.9)}, 1).ok());
  ASSERT_TRUE(coord_->ReportMetrics((*again)->token, {Point(2, "loss", 1.8)}, 2).ok());
  std::vector<MetricPoint> live = Live(first.job.id);
  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(live[0].value, 1.9);
  EXPECT_EQ(live[1].value, 1.8);
}

TEST_F(SqliteFixture, NonFiniteValuesAreStoredFaithfully) {
  Start(1);
  const Lease& l = leases_[0];
  ASSERT_TRUE(coord_->ReportMetrics(l.token,
                                    {Point(1, "loss", kNaN), Point(2, "loss", kInf),
                                     Point(3, "loss", -kInf), Point(4, "loss", 0.25)},
                                    1)
                  .ok());
  std::vector<MetricPoint> live = Live(l.job.id);
  ASSERT_EQ(live.size(), 4u);
  EXPECT_TRUE(std::isnan(live[0].value));
  EXPECT_EQ(live[1].value, kInf);
  EXPECT_EQ(live[2].value, -kInf);
  EXPECT_EQ(live[3].value, 0.25);
}

// Ten reporters at once, one of them with NaN and Inf: every report is
// acknowledged and every point is there (they share group commits).
TEST_F(SqliteFixture, TenConcurrentReportersOneWithNaNLoseNothing) {
  Start(10);
  constexpr int kReports = 40;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int j = 0; j < 10; ++j) {
    threads.emplace_back([&, j] {
      for (int r = 1; r <= kReports; ++r) {
        const double v = j == 3 ? (r % 2 ? kNaN : kInf) : 1.0 / r;
        Status s = coord_->ReportMetrics(leases_[j].token,
                                         {Point(r, "loss", v), Point(r, "acc", 0.5)}, r);
        if (!s.ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  for (int j = 0; j < 10; ++j) EXPECT_EQ(Live(leases_[j].job.id).size(), 2u * kReports) << j;
}

// The root of "one bad point takes others down": a report the store refuses
// fails alone, although it shared a transaction with healthy reports.
TEST(CoordinatorIsolationTest, AReportTheStoreRefusesFailsAloneInItsGroup) {
  MemoryStore store;
  FakeClock clock;
  auto c = Coordinator::Create(&store, &clock, {});
  ASSERT_TRUE(c.ok());
  auto& coord = *c;
  SubmitSweepRequest r;
  r.spec_json = GridSpec("s", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  ASSERT_TRUE(coord->SubmitSweep(r).ok());
  WorkerRecord wr;
  wr.name = "w";
  const int64_t w = coord->RegisterWorker(wr)->worker_id;
  std::vector<Lease> leases;
  for (int i = 0; i < 10; ++i) leases.push_back(**coord->LeaseJob({w, true, false, 0, ""}));
  store.RefuseMetricsOfJob(leases[3].job.id);
  std::vector<Status> results(10);
  std::vector<std::thread> threads;
  for (int round = 0; round < 20; ++round) {
    threads.clear();
    for (int j = 0; j < 10; ++j)
      threads.emplace_back([&, j, round] {
        Status s = coord->ReportMetrics(leases[j].token, {Point(round, "loss", 1.0)}, round + 1);
        if (!s.ok()) results[j] = s;
      });
    for (auto& t : threads) t.join();
  }
  for (int j = 0; j < 10; ++j) {
    ListMetricsRequest q;
    q.job_id = leases[j].job.id;
    if (j == 3) {
      EXPECT_EQ(results[j].code(), StatusCode::kInternal);
      EXPECT_EQ(coord->ListMetrics(q)->size(), 0u);
    } else {
      EXPECT_TRUE(results[j].ok()) << j << ": " << results[j].ToString();
      EXPECT_EQ(coord->ListMetrics(q)->size(), 20u) << j;
    }
  }
}

TEST_F(SqliteFixture, MetricsPageInStepOrderWithEachLiveStepOnce) {
  Start(1);
  const Lease& l = leases_[0];
  // Arrival order is not step order, and step 5 of "loss" is reported twice
  // (two reports): the live series keeps the newer one.
  ASSERT_TRUE(coord_->ReportMetrics(l.token, {Point(9, "loss", 0.9), Point(5, "loss", 0.5)}, 1).ok());
  std::vector<MetricPoint> many;
  for (int s = 0; s < 30; ++s) many.push_back(Point(s, "acc", s / 100.0));
  ASSERT_TRUE(coord_->ReportMetrics(l.token, many, 2).ok());
  ASSERT_TRUE(coord_->ReportMetrics(l.token, {Point(5, "loss", 0.55)}, 3).ok());

  ListMetricsRequest q;
  q.job_id = l.job.id;
  q.page_size = 7;
  std::vector<MetricPoint> seen;
  int pages = 0;
  while (true) {
    auto page = coord_->ListMetricsPage(q);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    EXPECT_LE(page->points.size(), 7u);
    seen.insert(seen.end(), page->points.begin(), page->points.end());
    ++pages;
    if (page->next_page_token.empty()) break;
    q.page_token = page->next_page_token;
  }
  EXPECT_EQ(pages, 5);
  ASSERT_EQ(seen.size(), 32u);  // 30 acc + loss at 5 (once) and 9
  for (size_t i = 1; i < seen.size(); ++i) {
    EXPECT_TRUE(seen[i - 1].step < seen[i].step ||
                (seen[i - 1].step == seen[i].step && seen[i - 1].name < seen[i].name))
        << i;
  }
  auto loss5 = std::find_if(seen.begin(), seen.end(),
                            [](const MetricPoint& p) { return p.name == "loss" && p.step == 5; });
  ASSERT_NE(loss5, seen.end());
  EXPECT_EQ(loss5->value, 0.55);

  ListMetricsRequest range;
  range.job_id = l.job.id;
  range.names = {"acc"};
  range.min_step = 10;
  range.max_step = 12;
  auto r = coord_->ListMetricsPage(range);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->points.size(), 3u);
  EXPECT_EQ(r->points.front().step, 10);
  range.min_step = 20;
  EXPECT_EQ(coord_->ListMetricsPage(range).status().code(), StatusCode::kInvalidArgument);
  ListMetricsRequest bad;
  bad.job_id = l.job.id;
  bad.page_token = "not-a-token";
  EXPECT_EQ(coord_->ListMetricsPage(bad).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SqliteFixture, ASubmissionRetriedWithItsRequestIdReturnsTheSameSweep) {
  Start(0);
  SubmitSweepRequest r;
  r.spec_json = GridSpec("idem", {2, 4, 8}, {0, 1});
  r.request_id = "c0ffee-1";
  auto first = coord_->SubmitSweep(r);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE(first->replayed);
  auto again = coord_->SubmitSweep(r);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->sweep_id, first->sweep_id);
  EXPECT_EQ(again->jobs_created, 6);
  EXPECT_EQ(coord_->ListSweeps().size(), 1u);
  // Still after a restart.
  coord_.reset();
  coord_ = std::move(Coordinator::Create(store_.get(), &clock_, {})).value();
  auto replayed = coord_->SubmitSweep(r);
  ASSERT_TRUE(replayed.ok());
  EXPECT_TRUE(replayed->replayed);
  EXPECT_EQ(replayed->sweep_id, first->sweep_id);
  EXPECT_EQ(coord_->ListSweeps().size(), 1u);
  // The same key with another spec is a client bug, said so.
  r.spec_json = GridSpec("idem", {2});
  auto clash = coord_->SubmitSweep(r);
  EXPECT_EQ(clash.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(clash.status().message(), HasSubstr("c0ffee-1"));
}

// A commit so long that no worker could heartbeat through it (a 100k-job
// submission, a stalled disk) does not cost the running jobs their leases.
TEST(CoordinatorSubmitTest, ALongCommitDoesNotCostRunningJobsTheirLeases) {
  MemoryStore store;
  FakeClock clock;
  CoordinatorOptions options;
  options.lease_ttl_ms = 2'000;
  auto coord = std::move(Coordinator::Create(&store, &clock, options)).value();
  SubmitSweepRequest r;
  r.spec_json = GridSpec("running", {1});
  ASSERT_TRUE(coord->SubmitSweep(r).ok());
  WorkerRecord wr;
  wr.name = "w";
  const int64_t w = coord->RegisterWorker(wr)->worker_id;
  auto lease = **coord->LeaseJob({w, true, false, 0, ""});
  // The next commit (a big submission) takes 5 s, longer than the lease.
  bool stalled = false;
  store.during_commit = [&] {
    if (!stalled) clock.Advance(5'000);
    stalled = true;
  };
  r.spec_json = GridSpec("big", {2, 4, 8});
  ASSERT_TRUE(coord->SubmitSweep(r).ok());
  auto reaped = coord->ReapExpiredLeases();
  ASSERT_TRUE(reaped.ok());
  EXPECT_TRUE(reaped->empty()) << "the stall was the coordinator's, not the worker's";
  HeartbeatRequest hb;
  hb.token = lease.token;
  EXPECT_TRUE(coord->Heartbeat(hb).ok());
  // A silence of the worker's own still expires it.
  clock.Advance(2'001);
  reaped = coord->ReapExpiredLeases();
  ASSERT_TRUE(reaped.ok());
  EXPECT_EQ(reaped->size(), 1u);
}

TEST(CoordinatorSubmitTest, HundredConcurrentSubmitsOfOneConfigMakeOneJob) {
  MemoryStore store;
  FakeClock clock;
  auto coord = std::move(Coordinator::Create(&store, &clock, {})).value();
  std::vector<std::thread> threads;
  for (int i = 0; i < 100; ++i)
    threads.emplace_back([&, i] {
      SubmitSweepRequest r;
      r.spec_json = GridSpec("dup-" + std::to_string(i), {4});
      EXPECT_TRUE(coord->SubmitSweep(r).ok());
    });
  for (auto& t : threads) t.join();
  auto jobs = coord->ListJobs({});
  ASSERT_TRUE(jobs.ok());
  EXPECT_EQ(jobs->total, 1);
  EXPECT_EQ(jobs->jobs[0].sweep_ids.size(), 100u);
}

TEST(CoordinatorSubmitTest, CancellingAFinishedJobIsRefusedACancelledOneIsANoOp) {
  MemoryStore store;
  FakeClock clock;
  auto coord = std::move(Coordinator::Create(&store, &clock, {})).value();
  SubmitSweepRequest r;
  r.spec_json = GridSpec("s", {1, 2});
  auto sub = coord->SubmitSweep(r);
  ASSERT_TRUE(sub.ok());
  WorkerRecord wr;
  wr.name = "w";
  const int64_t w = coord->RegisterWorker(wr)->worker_id;
  auto lease = **coord->LeaseJob({w, true, false, 0, ""});
  ASSERT_TRUE(coord->CompleteJob(lease.token, "{}").ok());
  auto refused = coord->CancelJob(lease.job.id, "");
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("succeeded"));
  const int64_t other = sub->jobs[0].job_id == lease.job.id ? sub->jobs[1].job_id
                                                            : sub->jobs[0].job_id;
  ASSERT_TRUE(coord->CancelJob(other, "").ok());
  auto twice = coord->CancelJob(other, "");
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(twice->state, JobState::kCancelled);
}

}  // namespace
}  // namespace lcsweep
