// The Coordinator on a real SqliteStore: everything survives a restart, a
// kill -9 in the middle of metric writes loses no acknowledged point and
// leaves a consistent file, and a full disk is a clean refusal.
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/job_identity.h"
#include "server/core/coordinator.h"
#include "server/store/sqlite_store.h"
#include "tests/fakes/fake_clock.h"
#include "tests/server/old_hash.h"
#include "tests/server/temp_dir.h"
#include "tests/server/test_specs.h"

namespace lcsweep {
namespace {

using ::lcsweep::testing::GridSpec;
using ::lcsweep::testing::TempDir;
using ::testing::HasSubstr;

struct Opened {
  std::unique_ptr<SqliteStore> store;
  std::unique_ptr<Coordinator> coord;
};

Opened Open(const std::string& path, Clock* clock, SqliteStoreOptions options = {}) {
  Opened o;
  auto store = SqliteStore::Open(path, options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  if (!store.ok()) return o;
  o.store = std::move(store).value();
  auto coord = Coordinator::Create(o.store.get(), clock, {});
  EXPECT_TRUE(coord.ok()) << coord.status().ToString();
  if (coord.ok()) o.coord = std::move(coord).value();
  return o;
}

std::string IntegrityCheck(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, nullptr);
  std::string r = sqlite3_step(s) == SQLITE_ROW
                      ? reinterpret_cast<const char*>(sqlite3_column_text(s, 0))
                      : "no answer";
  sqlite3_finalize(s);
  sqlite3_close(db);
  return r;
}

TEST(CoordinatorSqliteTest, EverySweepJobEventAndMetricSurvivesARestart) {
  TempDir dir;
  const std::string path = dir.File("c.db");
  FakeClock clock;
  std::vector<SweepSummary> sweeps_before;
  std::vector<JobRecord> jobs_before;
  std::map<int64_t, size_t> metrics_before, events_before;
  std::string running_token;
  {
    Opened o = Open(path, &clock);
    ASSERT_TRUE(o.coord);
    SubmitSweepRequest r;
    r.spec_json = GridSpec("a", {1, 2, 4}, {0, 1});
    ASSERT_TRUE(o.coord->SubmitSweep(r).ok());
    r.spec_json = GridSpec("b", {4, 8}, {0}, 2);
    ASSERT_TRUE(o.coord->SubmitSweep(r).ok());
    WorkerRecord wr;
    wr.name = "w";
    int64_t w = o.coord->RegisterWorker(wr)->worker_id;
    // One succeeded, one failed, one released, one running with metrics and a checkpoint.
    auto l1 = std::move(o.coord->LeaseJob({w, true, false, 0, ""})).value();
    ASSERT_TRUE(o.coord->ReportMetrics(l1->token, {{0, 0, 1, 0, "loss", 2.0, 0}, {0, 0, 2, 0, "loss", 1.0, 0}}).ok());
    ASSERT_TRUE(o.coord->CompleteJob(l1->token, R"({"test":{"accuracy":0.8}})").ok());
    auto l2 = std::move(o.coord->LeaseJob({w, true, false, 0, ""})).value();
    ASSERT_TRUE(o.coord->FailJob(l2->token, "boom", false).ok());
    auto l3 = std::move(o.coord->LeaseJob({w, true, false, 0, ""})).value();
    ASSERT_TRUE(o.coord->ReleaseJob(l3->token, "drain").ok());
    auto l4 = std::move(o.coord->LeaseJob({w, true, false, 0, ""})).value();
    std::vector<MetricPoint> pts;
    for (int i = 0; i < 1000; ++i) pts.push_back({0, 0, i, i / 100, "train.loss", 1.0 / (i + 1), 0});
    ASSERT_TRUE(o.coord->ReportMetrics(l4->token, pts).ok());
    CheckpointMeta m;
    m.epoch = 3;
    m.path = "/ckpt/x";
    m.sha256 = std::string(64, 'e');
    ASSERT_TRUE(o.coord->RecordCheckpoint(l4->token, m).ok());
    HeartbeatRequest hb;
    hb.token = l4->token;
    hb.progress.epoch = 9;
    ASSERT_TRUE(o.coord->Heartbeat(hb).ok());
    running_token = l4->token;
    sweeps_before = o.coord->ListSweeps();
    jobs_before = o.coord->ListJobs({})->jobs;
    for (const auto& j : jobs_before) {
      ListMetricsRequest q;
      q.job_id = j.id;
      metrics_before[j.id] = o.coord->ListMetrics(q)->size();
      ListEventsRequest e;
      e.job_id = j.id;
      events_before[j.id] = o.coord->ListEvents(e)->size();
    }
  }
  Opened o = Open(path, &clock);
  ASSERT_TRUE(o.coord);
  auto sweeps = o.coord->ListSweeps();
  ASSERT_EQ(sweeps.size(), sweeps_before.size());
  for (size_t i = 0; i < sweeps.size(); ++i) {
    EXPECT_EQ(sweeps[i].sweep.name, sweeps_before[i].sweep.name);
    EXPECT_EQ(sweeps[i].sweep.spec_json, sweeps_before[i].sweep.spec_json);
    EXPECT_EQ(sweeps[i].total_jobs, sweeps_before[i].total_jobs);
    for (int s = 0; s < kNumJobStates; ++s) EXPECT_EQ(sweeps[i].counts[s], sweeps_before[i].counts[s]);
  }
  auto jobs = o.coord->ListJobs({})->jobs;
  ASSERT_EQ(jobs.size(), jobs_before.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    const JobRecord& a = jobs_before[i];
    const JobRecord& b = jobs[i];
    EXPECT_EQ(b.id, a.id);
    EXPECT_EQ(b.state, a.state);
    EXPECT_EQ(b.attempt, a.attempt);
    EXPECT_EQ(b.sweep_ids, a.sweep_ids);
    EXPECT_EQ(b.hash, a.hash);
    EXPECT_EQ(b.config_json, a.config_json);
    EXPECT_EQ(b.lease_token, a.lease_token);
    EXPECT_EQ(b.result_json, a.result_json);
    EXPECT_EQ(b.error, a.error);
    EXPECT_EQ(b.progress.epoch, a.progress.epoch);
    ListMetricsRequest q;
    q.job_id = b.id;
    EXPECT_EQ(o.coord->ListMetrics(q)->size(), metrics_before[b.id]) << "job " << b.id;
    ListEventsRequest e;
    e.job_id = b.id;
    EXPECT_EQ(o.coord->ListEvents(e)->size(), events_before[b.id]) << "job " << b.id;
  }
  // The running job's lease (and its fencing token) is still valid, with its checkpoint.
  auto leased = o.coord->ValidateLease(running_token);
  ASSERT_TRUE(leased.ok());
  auto ckpt = o.coord->LatestCheckpoint(running_token);
  ASSERT_TRUE(ckpt.ok() && ckpt->has_value());
  EXPECT_EQ((*ckpt)->path, "/ckpt/x");
  // New events continue the id sequence.
  EXPECT_TRUE(o.coord->CompleteJob(running_token, "{}").ok());
  ListEventsRequest all;
  all.limit = 5000;
  auto events = o.coord->ListEvents(all);
  for (size_t i = 1; i < events->size(); ++i) EXPECT_LT((*events)[i - 1].id, (*events)[i].id);
}

// The child process leases one job and reports metric batches in a loop,
// writing the number of acknowledged batches to a pipe after every ack; the
// parent kill -9s it mid-stream and reopens the file.
TEST(CoordinatorSqliteTest, KillNineMidWriteKeepsEveryAcknowledgedMetric) {
  TempDir dir;
  const std::string path = dir.File("c.db");
  constexpr int kBatch = 200;
  FakeClock clock;
  int64_t job_id = 0;
  {
    Opened o = Open(path, &clock);
    ASSERT_TRUE(o.coord);
    SubmitSweepRequest r;
    r.spec_json = GridSpec("k", {1});
    job_id = o.coord->SubmitSweep(r)->jobs[0].job_id;
  }
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    SystemClock real;
    auto store = SqliteStore::Open(path);
    if (!store.ok()) _exit(2);
    auto coord = Coordinator::Create(store->get(), &real, {});
    if (!coord.ok()) _exit(3);
    WorkerRecord wr;
    wr.name = "child";
    int64_t w = (*coord)->RegisterWorker(wr)->worker_id;
    auto lease = (*coord)->LeaseJob({w, true, false, 0, ""});
    if (!lease.ok() || !lease->has_value()) _exit(4);
    const std::string token = (**lease).token;
    for (int64_t n = 1;; ++n) {
      std::vector<MetricPoint> pts;
      for (int i = 0; i < kBatch; ++i)
        pts.push_back({0, 0, n * kBatch + i, n, "loss", static_cast<double>(i), 0});
      if (!(*coord)->ReportMetrics(token, pts).ok()) _exit(5);
      if (write(fds[1], &n, sizeof(n)) != sizeof(n)) _exit(6);
    }
  }
  close(fds[1]);
  int64_t acked = 0, n = 0;
  while (acked < 100 && read(fds[0], &n, sizeof(n)) == sizeof(n)) acked = n;
  ASSERT_GE(acked, 100) << "the child stopped early";
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status));
  // Acks the child sent before it died.
  while (read(fds[0], &n, sizeof(n)) == sizeof(n)) acked = n;
  close(fds[0]);

  EXPECT_EQ(IntegrityCheck(path), "ok");
  Opened o = Open(path, &clock);
  ASSERT_TRUE(o.coord) << "the lock of the killed process must not block a restart";
  ListMetricsRequest q;
  q.job_id = job_id;
  auto pts = o.coord->ListMetrics(q);
  ASSERT_TRUE(pts.ok());
  const int64_t stored = static_cast<int64_t>(pts->size());
  EXPECT_GE(stored, acked * kBatch) << "an acknowledged metric batch was lost";
  EXPECT_LE(stored, (acked + 1) * kBatch);
  EXPECT_EQ(stored % kBatch, 0) << "a half-written batch";
  auto job = o.coord->GetJob(job_id);
  EXPECT_EQ(job->state, JobState::kRunning);
  EXPECT_FALSE(job->lease_token.empty());
}

TEST(CoordinatorSqliteTest, AFullDiskRefusesCleanlyAndRecovers) {
  TempDir dir;
  const std::string path = dir.File("c.db");
  FakeClock clock;
  SqliteStoreOptions options;
  options.max_page_count = 30;
  Opened o = Open(path, &clock, options);
  ASSERT_TRUE(o.coord);
  SubmitSweepRequest r;
  std::vector<int> rates;
  for (int i = 0; i < 12; ++i) rates.push_back(1 << i);
  r.spec_json = GridSpec("big", rates, {0, 1, 2, 3, 4, 5, 6, 7});  // 96 jobs, ~2 KiB each
  auto res = o.coord->SubmitSweep(r);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(res.status().message(), HasSubstr("full"));
  EXPECT_TRUE(o.coord->ListSweeps().empty());
  EXPECT_EQ(o.coord->ListJobs({})->total, 0);
  ASSERT_TRUE(o.store->Exec("PRAGMA max_page_count=1000000").ok());
  res = o.coord->SubmitSweep(r);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->jobs_created, 96);
  EXPECT_EQ(res->sweep_id, 1) << "the failed submission used no id";
}

}  // namespace
}  // namespace lcsweep

namespace lcsweep {
namespace {

// 64 threads lease at once from one coordinator on SQLite: no job is handed
// out twice, no call fails (no "database is locked").
TEST(CoordinatorSqliteTest, SixtyFourConcurrentWorkersNeverShareAJob) {
  TempDir dir;
  const std::string path = dir.File("c.db");
  FakeClock clock;
  Opened o = Open(path, &clock);
  ASSERT_TRUE(o.coord);
  std::vector<int> rates;
  for (int i = 0; i < 10; ++i) rates.push_back(1 << i);
  std::vector<int> seeds;
  for (int i = 0; i < 40; ++i) seeds.push_back(i);
  SubmitSweepRequest r;
  r.spec_json = GridSpec("c", rates, seeds);  // 400 jobs
  ASSERT_TRUE(o.coord->SubmitSweep(r).ok());
  constexpr int kWorkers = 64;
  std::mutex mu;
  std::map<int64_t, int> leased_times;
  std::set<std::string> tokens;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kWorkers; ++t) {
    threads.emplace_back([&, t] {
      WorkerRecord wr;
      wr.name = "w" + std::to_string(t);
      auto reg = o.coord->RegisterWorker(wr);
      if (!reg.ok()) {
        ++errors;
        return;
      }
      while (true) {
        auto l = o.coord->LeaseJob({reg->worker_id, true, false, 0, ""});
        if (!l.ok()) {
          ++errors;
          return;
        }
        if (!l->has_value()) return;
        {
          std::lock_guard<std::mutex> lock(mu);
          ++leased_times[(*l)->job.id];
          tokens.insert((*l)->token);
        }
        if (!o.coord->ReportMetrics((*l)->token, {{0, 0, 1, 0, "loss", 1.0, 0}}).ok()) ++errors;
        if (!o.coord->CompleteJob((*l)->token, "{}").ok()) ++errors;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(leased_times.size(), 400u);
  for (const auto& [id, n] : leased_times) EXPECT_EQ(n, 1) << "job " << id;
  EXPECT_EQ(tokens.size(), 400u) << "every lease gets a fresh token";
  for (const auto& tok : tokens) EXPECT_EQ(tok.find_first_not_of("0123456789abcdef"), std::string::npos);
  auto s = o.coord->GetSweep(1);
  EXPECT_EQ(s->counts[static_cast<int>(JobState::kSucceeded)], 400);
}

}  // namespace
}  // namespace lcsweep

namespace lcsweep {
namespace {

// A coordinator that was down longer than a lease must not expire the leases
// of workers that kept training meanwhile: each gets one period from restart.
TEST(CoordinatorSqliteTest, RestartGivesRunningLeasesOnePeriodToComeBack) {
  ::lcsweep::testing::TempDir dir;
  const std::string path = dir.File("grace.db");
  FakeClock clock;
  std::string token;
  {
    Opened o = Open(path, &clock);
    ASSERT_TRUE(o.coord);
    SubmitSweepRequest r;
    r.spec_json = ::lcsweep::testing::GridSpec("g", {1}, {0});
    ASSERT_TRUE(o.coord->SubmitSweep(r).ok());
    WorkerRecord wr;
    wr.name = "w";
    const int64_t w = o.coord->RegisterWorker(wr)->worker_id;
    auto lease = o.coord->LeaseJob({w, true, false, 0, ""});
    ASSERT_TRUE(lease.ok() && lease->has_value());
    token = (*lease)->token;
  }
  clock.Advance(CoordinatorOptions{}.lease_ttl_ms * 3);  // down for three lease periods
  Opened o = Open(path, &clock);
  ASSERT_TRUE(o.coord);
  auto reaped = o.coord->ReapExpiredLeases();
  ASSERT_TRUE(reaped.ok());
  EXPECT_TRUE(reaped->empty()) << "a restart must not expire leases at once";
  HeartbeatRequest hb;
  hb.token = token;
  EXPECT_TRUE(o.coord->Heartbeat(hb).ok()) << "the worker's token must still be live";
  // A worker that never comes back is still reaped one period later.
  clock.Advance(o.coord->options().lease_ttl_ms + 1);
  reaped = o.coord->ReapExpiredLeases();
  ASSERT_TRUE(reaped.ok());
  EXPECT_EQ(reaped->size(), 1u);
}

}  // namespace
}  // namespace lcsweep

namespace lcsweep {
namespace {

// A store written under identity rule 1 (the whole config hashed) is
// rehashed at the coordinator's start, durably, keeping both jobs that now
// share a hash.
TEST(CoordinatorSqliteTest, AStoreWithOldHashesIsRehashedOnceAndKeepsEveryJob) {
  ::lcsweep::testing::TempDir dir;
  const std::string path = dir.File("old.db");
  FakeClock clock;
  {
    auto store = SqliteStore::Open(path, {});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE((*store)->Commit(::lcsweep::testing::OldHashStore()).ok());
    auto snap = (*store)->Load();
    ASSERT_TRUE(snap.ok());
    EXPECT_EQ(snap->config_hash_version, 1);
    EXPECT_NE(snap->jobs[0].hash, snap->jobs[1].hash);
  }
  {
    Opened o = Open(path, &clock);
    ASSERT_TRUE(o.coord);
    EXPECT_EQ(o.coord->GetJob(1)->hash, o.coord->GetJob(2)->hash);
  }
  auto store = SqliteStore::Open(path, {});
  ASSERT_TRUE(store.ok());
  auto snap = (*store)->Load();
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->config_hash_version, kConfigHashVersion);
  ASSERT_EQ(snap->jobs.size(), 2u);
  EXPECT_EQ(snap->jobs[0].hash, snap->jobs[1].hash);
  EXPECT_EQ(snap->jobs[0].state, JobState::kSucceeded);
  auto events = (*store)->ListEvents({});
  ASSERT_TRUE(events.ok());
  int collisions = 0;
  for (const Event& e : *events) collisions += e.reason.find("both kept") != std::string::npos;
  EXPECT_EQ(collisions, 2);
}

}  // namespace
}  // namespace lcsweep
