// SqliteStore on real SQLite files: migrations, round trips, the lock file,
// a full disk and a database locked by another connection.
#include "server/store/sqlite_store.h"

#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/store/migrations.h"
#include "tests/server/temp_dir.h"

namespace lcsweep {
namespace {

using ::lcsweep::testing::TempDir;
using ::testing::HasSubstr;

// A second, raw connection (as another process such as the sqlite3 shell
// would have), bypassing the store and its lock file.
class RawDb {
 public:
  explicit RawDb(const std::string& path) { sqlite3_open(path.c_str(), &db_); }
  ~RawDb() { sqlite3_close(db_); }
  int Exec(const std::string& sql) { return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr); }
  int64_t Int(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr);
    int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    return v;
  }
  std::string Text(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr);
    std::string v = sqlite3_step(s) == SQLITE_ROW
                        ? reinterpret_cast<const char*>(sqlite3_column_text(s, 0))
                        : "";
    sqlite3_finalize(s);
    return v;
  }

 private:
  sqlite3* db_ = nullptr;
};

std::vector<MetricPoint> Points(int64_t job_id, int n, int64_t first_step = 0) {
  std::vector<MetricPoint> v;
  for (int i = 0; i < n; ++i)
    v.push_back({job_id, 1, first_step + i, 0, "train.loss_with_a_longish_name", 0.5 * i, 1000 + i});
  return v;
}

JobRecord SomeJob(int64_t id) {
  JobRecord j;
  j.id = id;
  j.config_json = R"({"seed":0})";
  j.hash = std::string(64, 'a' + static_cast<char>(id % 6));
  j.group_hash = std::string(64, 'f');
  j.axes_json = R"({"seed":0})";
  j.state = JobState::kRunning;
  j.priority = 3;
  j.attempt = 2;
  j.max_attempts = 4;
  j.lease_token = "tok";
  j.lease_owner = 7;
  j.lease_expiry_ms = 12345;
  j.requirements = {"cuda", 16};
  j.created_ms = 1;
  j.queued_ms = 2;
  j.started_ms = 3;
  j.finished_ms = 0;
  j.updated_ms = 4;
  j.error = "last error";
  j.retryable = true;
  j.result_json = "";
  j.progress.epoch = 5;
  j.progress.step = 600;
  j.progress.metrics = {{"loss", 0.25}};
  j.progress.updated_ms = 5;
  return j;
}

TEST(SqliteStoreTest, MigratesAnEmptyFileAndReopeningIsIdempotent) {
  TempDir dir;
  const std::string path = dir.File("c.db");
  {
    auto store = SqliteStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    EXPECT_EQ(*(*store)->SchemaVersion(), SqliteStore::LatestSchemaVersion());
    EXPECT_GE(SqliteStore::LatestSchemaVersion(), 1);
  }
  for (int i = 0; i < 2; ++i) {
    auto store = SqliteStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    EXPECT_EQ(*(*store)->SchemaVersion(), SqliteStore::LatestSchemaVersion());
  }
  RawDb raw(path);
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM schema_version"), SqliteStore::LatestSchemaVersion());
  EXPECT_EQ(raw.Text("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name IN "
                    "('sweeps','jobs','sweep_jobs','workers','metrics','events','checkpoints')"),
            7);
}

TEST(SqliteStoreTest, RefusesASchemaNewerThanItKnows) {
  TempDir dir;
  const std::string path = dir.File("c.db");
  { ASSERT_TRUE(SqliteStore::Open(path).ok()); }
  {
    RawDb raw(path);
    ASSERT_EQ(raw.Exec("INSERT INTO schema_version (version) VALUES (999)"), SQLITE_OK);
  }
  auto store = SqliteStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr("999"));
}

TEST(SqliteStoreTest, RefusesAFileThatIsNotADatabase) {
  TempDir dir;
  const std::string path = dir.File("junk.db");
  std::ofstream(path) << std::string(8192, 'x');
  auto store = SqliteStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(), HasSubstr(path));
}

TEST(SqliteStoreTest, ASecondCoordinatorOnTheSameFileIsRefused) {
  TempDir dir;
  const std::string path = dir.File("c.db");
  auto first = SqliteStore::Open(path);
  ASSERT_TRUE(first.ok());
  auto second = SqliteStore::Open(path);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr("in use by another coordinator"));
  EXPECT_THAT(second.status().message(), HasSubstr("pid " + std::to_string(getpid())));
  first->reset();
  EXPECT_TRUE(SqliteStore::Open(path).ok()) << "the lock goes with the first store";
}

// A job's model row: upserted by job id (a replacement, then pruning,
// rewrite the one row) and loaded back field by field.
TEST(SqliteStoreTest, ModelRowsAreUpsertedByJobAndSurviveReopening) {
  TempDir dir;
  const std::string path = dir.File("c.db");
  ModelMeta first{1, 2, std::string(64, 'a'), 1000, "/models/a", 50, false};
  ModelMeta other{2, 1, std::string(64, 'b'), 2000, "/models/b", 60, false};
  {
    auto store = std::move(SqliteStore::Open(path)).value();
    WriteBatch b;
    b.models = {first, other};
    ASSERT_TRUE(store->Commit(b).ok());
    ModelMeta pruned = first;
    pruned.path.clear();
    pruned.pruned = true;
    WriteBatch prune;
    prune.models = {pruned};
    ASSERT_TRUE(store->Commit(prune).ok());
  }
  auto store = std::move(SqliteStore::Open(path)).value();
  auto snap = store->Load();
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  ASSERT_EQ(snap->models.size(), 2u);
  EXPECT_EQ(snap->models[0].job_id, 1);
  EXPECT_TRUE(snap->models[0].pruned);
  EXPECT_EQ(snap->models[0].path, "");
  EXPECT_EQ(snap->models[0].attempt, 2);
  EXPECT_EQ(snap->models[1].job_id, 2);
  EXPECT_FALSE(snap->models[1].pruned);
  EXPECT_EQ(snap->models[1].path, "/models/b");
  EXPECT_EQ(snap->models[1].sha256, std::string(64, 'b'));
  EXPECT_EQ(snap->models[1].size_bytes, 2000);
  EXPECT_EQ(snap->models[1].time_ms, 60);
}

TEST(SqliteStoreTest, CommitRoundTripsEveryRecord) {
  TempDir dir;
  const std::string path = dir.File("c.db");
  SweepRecord sweep{1, "s", "desc", 5, 4, {"a", "b"}, R"({"name":"s"})", 100, 0, "req-1"};
  JobRecord job = SomeJob(1);
  job.requirements.memory_estimate_gb = 7.25;
  job.oom_counted = true;
  WorkerRecord worker;
  worker.id = 7;
  worker.name = "w";
  worker.host = "h";
  worker.devices = {{"cpu", "cpu", 0, 0}, {"cuda", "cuda:0", 80, 61.5}};
  worker.cores = 16;
  worker.slots = 2;
  worker.versions = {{"lcsweep", "0.1.0"}};
  worker.labels = {{"rack", "3"}};
  worker.registered_ms = 10;
  worker.last_seen_ms = 11;
  CheckpointMeta ckpt{4, 1, 2, 3, 300, std::string(64, 'c'), 1234, "/a/b", 99};
  Event event{0, 1, 2, "queued", "running", "leased", 7, 50};
  {
    auto store = std::move(SqliteStore::Open(path)).value();
    WriteBatch b;
    b.sweeps = {sweep};
    b.jobs = {job};
    b.sweep_jobs = {{1, 1}};
    b.workers = {worker};
    b.checkpoints = {ckpt};
    b.events = {event};
    b.metrics = Points(1, 10);
    ASSERT_TRUE(store->Commit(b).ok());
  }
  auto store = std::move(SqliteStore::Open(path)).value();
  auto snap = store->Load();
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  ASSERT_EQ(snap->sweeps.size(), 1u);
  EXPECT_EQ(snap->sweeps[0].name, "s");
  EXPECT_EQ(snap->sweeps[0].tags, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(snap->sweeps[0].priority, 5);
  ASSERT_EQ(snap->jobs.size(), 1u);
  const JobRecord& j = snap->jobs[0];
  EXPECT_EQ(j.sweep_ids, std::vector<int64_t>{1});
  EXPECT_EQ(j.state, JobState::kRunning);
  EXPECT_EQ(j.attempt, 2);
  EXPECT_EQ(j.lease_token, "tok");
  EXPECT_EQ(j.requirements.device, "cuda");
  EXPECT_DOUBLE_EQ(j.requirements.min_gpu_memory_gb, 16);
  EXPECT_DOUBLE_EQ(j.requirements.memory_estimate_gb, 7.25);
  EXPECT_TRUE(j.oom_counted);
  EXPECT_EQ(j.error, "last error");
  EXPECT_TRUE(j.retryable);
  EXPECT_EQ(j.progress.step, 600);
  EXPECT_DOUBLE_EQ(j.progress.metrics.at("loss"), 0.25);
  ASSERT_EQ(snap->workers.size(), 1u);
  EXPECT_EQ(snap->workers[0].devices.size(), 2u);
  EXPECT_DOUBLE_EQ(snap->workers[0].devices[1].memory_gb, 80);
  EXPECT_DOUBLE_EQ(snap->workers[0].devices[1].free_memory_gb, 61.5);
  EXPECT_EQ(snap->workers[0].labels.at("rack"), "3");
  ASSERT_EQ(snap->checkpoints.size(), 1u);
  EXPECT_EQ(snap->checkpoints[0].path, "/a/b");
  EXPECT_EQ(snap->max_event_id, 1);
  ListMetricsRequest q;
  q.page_size = 10000;
  q.job_id = 1;
  EXPECT_EQ(store->ListMetrics(q)->points.size(), 10u);
  q.names = {"nope"};
  EXPECT_EQ(store->ListMetrics(q)->points.size(), 0u);
  ListEventsRequest e;
  e.sweep_id = 1;
  e.limit = 10;
  auto events = store->ListEvents(e);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].reason, "leased");

  // Upserts replace; deletes delete.
  WriteBatch b2;
  job.state = JobState::kSucceeded;
  job.result_json = R"({"x":1})";
  b2.jobs = {job};
  b2.deleted_checkpoints = {4};
  ASSERT_TRUE(store->Commit(b2).ok());
  snap = store->Load();
  EXPECT_EQ(snap->jobs[0].state, JobState::kSucceeded);
  EXPECT_TRUE(snap->checkpoints.empty());
}

TEST(SqliteStoreTest, AFullDiskRollsBackTheWholeBatchAndSaysSo) {
  TempDir dir;
  const std::string path = dir.File("c.db");
  SqliteStoreOptions options;
  options.max_page_count = 60;  // ~240 KiB at 4 KiB pages: a tiny "disk"
  auto store = SqliteStore::Open(path, options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  WriteBatch setup;
  setup.sweeps = {SweepRecord{1, "s", "", 0, 3, {}, "{}", 1, 0, ""}};
  setup.jobs = {SomeJob(1)};
  setup.sweep_jobs = {{1, 1}};
  ASSERT_TRUE((*store)->Commit(setup).ok());
  size_t stored = 0;
  Status full;
  for (int i = 0; i < 200; ++i) {
    WriteBatch b;
    b.metrics = Points(1, 500, static_cast<int64_t>(stored));
    JobRecord j = SomeJob(1);
    j.progress.step = static_cast<int64_t>(i);
    b.jobs = {j};
    Status s = (*store)->Commit(b);
    if (!s.ok()) {
      full = s;
      break;
    }
    stored += 500;
  }
  ASSERT_FALSE(full.ok()) << "the page limit was never reached";
  EXPECT_EQ(full.code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(full.message(), HasSubstr("full"));
  EXPECT_THAT(full.message(), HasSubstr("nothing was written"));
  // Nothing of the failed batch is there: not its metrics, not its job update.
  ListMetricsRequest q;
  q.page_size = 10000;
  q.job_id = 1;
  EXPECT_EQ((*store)->ListMetrics(q)->points.size(), stored);
  auto snap = (*store)->Load();
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(snap->jobs[0].progress.step, static_cast<int64_t>(stored / 500 - 1));
  // Space freed (limit raised): the same store works again.
  ASSERT_TRUE((*store)->Exec("PRAGMA max_page_count=100000").ok());
  WriteBatch b;
  b.metrics = Points(1, 500);
  EXPECT_TRUE((*store)->Commit(b).ok());
  RawDb raw(path);
  EXPECT_EQ(raw.Text("PRAGMA integrity_check"), "ok");
}

TEST(SqliteStoreTest, AWriteLockHeldByAnotherProcessGivesUnavailableAfterTheTimeout) {
  TempDir dir;
  const std::string path = dir.File("c.db");
  SqliteStoreOptions options;
  options.busy_timeout_ms = 200;
  auto store = std::move(SqliteStore::Open(path, options)).value();
  RawDb other(path);
  ASSERT_EQ(other.Exec("BEGIN IMMEDIATE"), SQLITE_OK);
  ASSERT_EQ(other.Exec("INSERT INTO events (job_id, attempt, from_state, to_state, reason, "
                       "time_ms) VALUES (9, 1, '', 'queued', 'other', 1)"),
            SQLITE_OK);
  WriteBatch b;
  b.metrics = Points(1, 5);
  auto start = std::chrono::steady_clock::now();
  Status s = store->Commit(b);
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("locked"));
  EXPECT_GE(waited, std::chrono::milliseconds(150)) << "busy_timeout was not honoured";
  ASSERT_EQ(other.Exec("ROLLBACK"), SQLITE_OK);
  EXPECT_TRUE(store->Commit(b).ok());
  ListMetricsRequest q;
  q.page_size = 10000;
  q.job_id = 1;
  EXPECT_EQ(store->ListMetrics(q)->points.size(), 5u) << "the failed commit left nothing behind";
}

// A database written by a coordinator before metric lineage (schema 1) is
// upgraded in place: its points are kept and start live.
TEST(SqliteStoreTest, UpgradesASchemaOneFileAndKeepsItsMetricsLive) {
  TempDir dir;
  const std::string path = dir.File("old.db");
  {
    RawDb raw(path);
    ASSERT_EQ(raw.Exec("PRAGMA journal_mode=WAL"), SQLITE_OK);
    ASSERT_EQ(raw.Exec("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, "
                       "applied_ms INTEGER NOT NULL DEFAULT 0)"),
              SQLITE_OK);
    ASSERT_EQ(raw.Exec(SchemaMigrations()[0]), SQLITE_OK);
    ASSERT_EQ(raw.Exec("INSERT INTO schema_version (version) VALUES (1)"), SQLITE_OK);
    ASSERT_EQ(raw.Exec("INSERT INTO metrics (job_id, attempt, step, epoch, name, value, time_ms) "
                       "VALUES (7, 1, 10, 0, 'test.accuracy', 0.25, 1000), "
                       "(7, 1, 20, 1, 'test.accuracy', 0.5, 2000)"),
              SQLITE_OK);
  }
  auto opened = SqliteStore::Open(path);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  SqliteStore& store = **opened;
  EXPECT_EQ(*store.SchemaVersion(), SqliteStore::LatestSchemaVersion());
  ASSERT_GE(SqliteStore::LatestSchemaVersion(), 2);
  ListMetricsRequest live;
  live.page_size = 10000;
  live.job_id = 7;
  auto points = store.ListMetrics(live);
  ASSERT_TRUE(points.ok()) << points.status().ToString();
  ASSERT_EQ(points->points.size(), 2u);
  EXPECT_EQ(points->points[1].value, 0.5);
  EXPECT_FALSE(points->points[1].superseded);

  // The new column works on the upgraded file: supersede after step 10 (only
  // attempt 1), in the same batch as a new point of attempt 2 at step 20,
  // which stays live.
  WriteBatch batch;
  batch.superseded_metrics.push_back({7, 10, 1});
  batch.metrics.push_back({7, 2, 20, 1, "test.accuracy", 0.75, 3000});
  ASSERT_TRUE(store.Commit(batch).ok());
  points = store.ListMetrics(live);
  ASSERT_TRUE(points.ok());
  ASSERT_EQ(points->points.size(), 2u);
  EXPECT_EQ(points->points[0].step, 10);
  EXPECT_EQ(points->points[1].attempt, 2);
  EXPECT_EQ(points->points[1].value, 0.75);
  ListMetricsRequest all = live;
  all.include_superseded = true;
  points = store.ListMetrics(all);
  ASSERT_TRUE(points.ok());
  ASSERT_EQ(points->points.size(), 3u);
  EXPECT_FALSE(points->points[0].superseded);
  EXPECT_TRUE(points->points[1].superseded);
  EXPECT_EQ(points->points[1].value, 0.5);
  EXPECT_FALSE(points->points[2].superseded);
}

// A file written before the "stopped" state (schema 5): the jobs table is
// rebuilt, its rows, links and indexes kept, and a stopped job can be
// written; the links still guard against a missing job.
TEST(SqliteStoreTest, UpgradesASchemaFiveFileToTheStoppedState) {
  TempDir dir;
  const std::string path = dir.File("five.db");
  {
    RawDb raw(path);
    ASSERT_EQ(raw.Exec("PRAGMA journal_mode=WAL"), SQLITE_OK);
    ASSERT_EQ(raw.Exec("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, "
                       "applied_ms INTEGER NOT NULL DEFAULT 0)"),
              SQLITE_OK);
    for (int v = 1; v <= 5; ++v) {
      ASSERT_EQ(raw.Exec(SchemaMigrations()[v - 1]), SQLITE_OK) << v;
      ASSERT_EQ(raw.Exec("INSERT INTO schema_version (version) VALUES (" + std::to_string(v) + ")"),
                SQLITE_OK);
    }
    ASSERT_EQ(raw.Exec("INSERT INTO sweeps (id, name, priority, max_attempts, spec_json, created_ms) "
                       "VALUES (1, 's', 0, 3, '{}', 1)"),
              SQLITE_OK);
    ASSERT_EQ(raw.Exec("INSERT INTO jobs (id, config_json, hash, group_hash, axes_json, state, "
                       "priority, attempt, max_attempts, created_ms, failures, leases) VALUES "
                       "(4, '{}', 'h4', 'g', '{}', 'running', 0, 2, 3, 1, 1, 2)"),
              SQLITE_OK);
    ASSERT_EQ(raw.Exec("INSERT INTO sweep_jobs (sweep_id, job_id) VALUES (1, 4)"), SQLITE_OK);
    ASSERT_NE(raw.Exec("INSERT INTO jobs (id, config_json, hash, group_hash, axes_json, state, "
                       "priority, attempt, max_attempts, created_ms) VALUES "
                       "(5, '{}', 'h5', 'g', '{}', 'stopped', 0, 1, 3, 1)"),
              SQLITE_OK) << "schema 5 refuses the state";
  }
  auto opened = SqliteStore::Open(path);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  SqliteStore& store = **opened;
  auto snap = store.Load();
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  ASSERT_EQ(snap->jobs.size(), 1u);
  JobRecord job = snap->jobs[0];
  EXPECT_EQ(job.state, JobState::kRunning);
  EXPECT_EQ(job.attempt, 2);
  EXPECT_EQ(job.failures, 1);
  EXPECT_EQ(job.leases, 2);
  EXPECT_EQ(job.sweep_ids, std::vector<int64_t>{1});
  job.state = JobState::kStopped;
  WriteBatch batch;
  batch.jobs.push_back(job);
  ASSERT_TRUE(store.Commit(batch).ok());
  EXPECT_EQ(store.Load()->jobs[0].state, JobState::kStopped);
  // Foreign keys are back on: a link to a job that does not exist is refused.
  WriteBatch dangling;
  dangling.sweep_jobs.push_back({1, 99});
  EXPECT_FALSE(store.Commit(dangling).ok());
  RawDb raw(path);
  EXPECT_EQ(raw.Int("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs' "
                    "AND name IN ('jobs_by_hash', 'jobs_by_state')"),
            2);
}

TEST(SqliteStoreTest, MigrationsAreOrderedNonEmptyStrings) {
  const auto& m = SchemaMigrations();
  ASSERT_FALSE(m.empty());
  for (const auto& sql : m) EXPECT_FALSE(sql.empty());
}

}  // namespace
}  // namespace lcsweep
