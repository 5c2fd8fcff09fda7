// Chunked submissions (Coordinator::SubmitSweep with more new jobs than
// CoordinatorOptions::submit_chunk_jobs): written in several transactions
// with the state mutex released in between, invisible until the last one,
// undone when a chunk fails, rolled back at the next start after a crash,
// and correct when an existing job it links moves on meanwhile. Real
// SqliteStore where durability is the point; MemoryStore to inject faults.
#include <atomic>
#include <optional>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

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

// 10 new jobs in chunks of 4: three chunks, then the last transaction.
constexpr int kChunk = 4;
const std::vector<int> kRates = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

// Rows of `table` in the SQLite file at `path`, read with a connection of
// its own (what a restarted coordinator would find).
int64_t CountRows(const std::string& path, const std::string& table) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, ("SELECT COUNT(*) FROM " + table).c_str(), -1, &s, nullptr);
  int64_t n = -1;
  if (sqlite3_step(s) == SQLITE_ROW) n = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(db);
  return n;
}

// Passes commits to a real store until `fail_after` of them went through,
// then fails every later one, as a process that died there would: the
// chunks written so far are on disk, nothing after them (not even an undo).
class DyingStore final : public Store {
 public:
  DyingStore(Store* inner, int fail_after) : inner_(inner), left_(fail_after) {}
  StatusOr<StoreSnapshot> Load() override { return inner_->Load(); }
  Status Commit(const WriteBatch& batch) override {
    if (left_-- <= 0) return UnavailableError("the process is gone");
    return inner_->Commit(batch);
  }
  StatusOr<ListMetricsResult> ListMetrics(const ListMetricsRequest& r) override {
    return inner_->ListMetrics(r);
  }
  StatusOr<std::vector<Event>> ListEvents(const ListEventsRequest& r) override {
    return inner_->ListEvents(r);
  }
  StatusOr<std::vector<AttemptUsage>> ListUsage(const ListUsageRequest& r) override {
    return inner_->ListUsage(r);
  }

 private:
  Store* const inner_;
  std::atomic<int> left_;
};

CoordinatorOptions Chunked(std::function<void()> after_chunk = nullptr) {
  CoordinatorOptions o;
  o.submit_chunk_jobs = kChunk;
  o.after_submit_chunk = std::move(after_chunk);
  return o;
}

TEST(ChunkedSubmitTest, NothingOfItIsVisibleOrLeasableUntilTheLastChunkWhileLeasesFlow) {
  TempDir dir;
  auto store = std::move(SqliteStore::Open(dir.File("c.db"))).value();
  FakeClock clock;
  Coordinator* c = nullptr;
  std::optional<Lease> running;
  int64_t worker = 0;
  int chunks = 0;
  auto coord = std::move(Coordinator::Create(store.get(), &clock, Chunked([&] {
                           // Between chunks, without the state mutex: the
                           // running job heartbeats, the new ones are nowhere.
                           ++chunks;
                           HeartbeatRequest hb;
                           hb.token = running->token;
                           EXPECT_TRUE(c->Heartbeat(hb).ok());
                           EXPECT_EQ(c->ListSweeps().size(), 1u);
                           auto none = c->LeaseJob({worker, true, false, 0, ""});
                           ASSERT_TRUE(none.ok());
                           EXPECT_FALSE(none->has_value()) << "a job of an incomplete sweep";
                           EXPECT_EQ(c->ListJobs({})->total, 1);
                         })))
                   .value();
  c = coord.get();
  SubmitSweepRequest first;
  first.spec_json = GridSpec("running", {99});
  ASSERT_TRUE(coord->SubmitSweep(first).ok());
  WorkerRecord w;
  w.name = "w";
  worker = coord->RegisterWorker(w)->worker_id;
  running = **coord->LeaseJob({worker, true, false, 0, ""});

  SubmitSweepRequest big;
  big.spec_json = GridSpec("big", kRates);
  big.request_id = "big-1";
  const uint64_t cursor = coord->feed().Cursor();
  auto result = coord->SubmitSweep(big);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(chunks, 3);
  EXPECT_EQ(result->jobs_created, 10);
  EXPECT_EQ(coord->ListSweeps().size(), 2u);
  EXPECT_EQ(coord->GetSweep(result->sweep_id)->total_jobs, 10);
  EXPECT_EQ(CountRows(dir.File("c.db"), "jobs"), 11);
  EXPECT_EQ(CountRows(dir.File("c.db"), "sweeps WHERE complete = 0"), 0);
  // The whole submission reached the feed at once, after the last chunk.
  int job_changes = 0;
  for (const auto& ch : coord->feed().Read(cursor).changes)
    job_changes += ch->kind == Change::Kind::kJob && ch->sweep_ids == std::vector<int64_t>{result->sweep_id};
  EXPECT_EQ(job_changes, 10);
  auto lease = coord->LeaseJob({worker, true, false, 0, ""});
  ASSERT_TRUE(lease.ok() && lease->has_value());
  // A retry of the same request is the same sweep, also after a restart.
  coord.reset();
  coord = std::move(Coordinator::Create(store.get(), &clock, Chunked())).value();
  auto again = coord->SubmitSweep(big);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->sweep_id, result->sweep_id);
  EXPECT_EQ(coord->ListJobs({})->total, 11);
}

TEST(ChunkedSubmitTest, ACrashBetweenChunksIsRolledBackAtTheNextStartAndTheRetryCreatesItOnce) {
  TempDir dir;
  const std::string path = dir.File("c.db");
  FakeClock clock;
  SubmitSweepRequest big;
  big.spec_json = GridSpec("big", kRates);
  big.request_id = "big-2";
  {
    auto store = std::move(SqliteStore::Open(path)).value();
    // Two chunks reach the disk; the third and everything after do not.
    DyingStore dying(store.get(), 2);
    auto coord = std::move(Coordinator::Create(&dying, &clock, Chunked())).value();
    auto lost = coord->SubmitSweep(big);
    EXPECT_EQ(lost.status().code(), StatusCode::kUnavailable);
    EXPECT_TRUE(coord->ListSweeps().empty());
    EXPECT_EQ(coord->ListJobs({})->total, 0);
  }
  EXPECT_EQ(CountRows(path, "sweeps WHERE complete = 0"), 1);
  EXPECT_EQ(CountRows(path, "jobs"), 2 * kChunk);
  EXPECT_EQ(CountRows(path, "events"), 2 * kChunk);

  auto store = std::move(SqliteStore::Open(path)).value();
  auto coord = std::move(Coordinator::Create(store.get(), &clock, Chunked())).value();
  EXPECT_TRUE(coord->ListSweeps().empty());
  EXPECT_EQ(CountRows(path, "sweeps"), 0);
  EXPECT_EQ(CountRows(path, "jobs"), 0);
  EXPECT_EQ(CountRows(path, "sweep_jobs"), 0);
  EXPECT_EQ(CountRows(path, "events"), 0);
  auto retry = coord->SubmitSweep(big);
  ASSERT_TRUE(retry.ok()) << retry.status().ToString();
  EXPECT_FALSE(retry->replayed);
  EXPECT_EQ(retry->jobs_created, 10);
  // The rolled-back ids stay unused.
  for (const SubmittedJob& j : retry->jobs) EXPECT_GT(j.job_id, 2 * kChunk);
  EXPECT_EQ(CountRows(path, "jobs"), 10);
  EXPECT_EQ(CountRows(path, "events"), 10);
}

TEST(ChunkedSubmitTest, AFailedChunkIsUndoneAndChangesNothing) {
  MemoryStore store;
  FakeClock clock;
  int chunks = 0;
  auto coord = std::move(Coordinator::Create(&store, &clock, Chunked([&] {
                           if (++chunks == 2) store.FailCommits(1, ResourceExhaustedError("disk full"));
                         })))
                   .value();
  SubmitSweepRequest big;
  big.spec_json = GridSpec("big", kRates);
  auto failed = coord->SubmitSweep(big);
  EXPECT_EQ(failed.status().code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(coord->ListSweeps().empty());
  auto snap = store.Load();
  EXPECT_TRUE(snap->sweeps.empty()) << "the two chunks written were undone";
  EXPECT_TRUE(snap->jobs.empty());
  auto retry = coord->SubmitSweep(big);
  ASSERT_TRUE(retry.ok()) << retry.status().ToString();
  EXPECT_EQ(retry->jobs_created, 10);
  EXPECT_EQ(coord->ListJobs({})->total, 10);
}

TEST(ChunkedSubmitTest, ALinkedJobThatHeartbeatsMeanwhileKeepsItsNewLease) {
  MemoryStore store;
  FakeClock clock;
  Coordinator* c = nullptr;
  std::string token;
  auto coord = std::move(Coordinator::Create(&store, &clock, Chunked([&] {
                           clock.Advance(1'000);
                           HeartbeatRequest hb;
                           hb.token = token;
                           hb.progress.epoch = 7;
                           ASSERT_TRUE(c->Heartbeat(hb).ok());
                         })))
                   .value();
  c = coord.get();
  SubmitSweepRequest first;
  first.spec_json = GridSpec("first", {1});
  const int64_t linked = coord->SubmitSweep(first)->jobs[0].job_id;
  WorkerRecord w;
  w.name = "w";
  const int64_t worker = coord->RegisterWorker(w)->worker_id;
  token = (**coord->LeaseJob({worker, true, false, 0, ""})).token;
  // Rate 1 is the running job; 2..11 are new.
  SubmitSweepRequest big;
  big.spec_json = GridSpec("big", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  auto result = coord->SubmitSweep(big);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->jobs_created, 10);
  EXPECT_EQ(result->jobs_reused, 1);
  JobRecord job = *coord->GetJob(linked);
  EXPECT_EQ(job.state, JobState::kRunning);
  EXPECT_EQ(job.progress.epoch, 7) << "the plan's stale copy overwrote a heartbeat";
  EXPECT_EQ(job.lease_expiry_ms, clock.NowMs() + coord->options().lease_ttl_ms);
  EXPECT_THAT(job.sweep_ids, ::testing::Contains(result->sweep_id));
  EXPECT_EQ(store.Load()->jobs.size(), 11u);
}

TEST(ChunkedSubmitTest, AForcedRunWhoseLinkedJobFinishedMeanwhileIsPlannedAgainWhole) {
  MemoryStore store;
  FakeClock clock;
  Coordinator* c = nullptr;
  std::string token;
  auto coord = std::move(Coordinator::Create(&store, &clock, Chunked([&] {
                           if (!token.empty()) {
                             EXPECT_TRUE(c->CompleteJob(token, "{}").ok());
                           }
                           token.clear();
                         })))
                   .value();
  c = coord.get();
  SubmitSweepRequest first;
  first.spec_json = GridSpec("first", {1});
  const int64_t old_job = coord->SubmitSweep(first)->jobs[0].job_id;
  WorkerRecord w;
  w.name = "w";
  const int64_t worker = coord->RegisterWorker(w)->worker_id;
  token = (**coord->LeaseJob({worker, true, false, 0, ""})).token;
  // Planned while job 1 runs (force links it); it succeeds before the end,
  // so force must now run it again as a new job.
  SubmitSweepRequest big;
  big.spec_json = GridSpec("big", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  big.force = true;
  auto result = coord->SubmitSweep(big);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->jobs_created, 11);
  EXPECT_EQ(result->jobs[0].outcome, SubmitOutcome::kForced);
  EXPECT_NE(result->jobs[0].job_id, old_job);
  EXPECT_EQ(coord->GetSweep(result->sweep_id)->total_jobs, 11);
  auto snap = store.Load();
  EXPECT_EQ(snap->jobs.size(), 12u);
  for (const SweepRecord& s : snap->sweeps) EXPECT_TRUE(s.complete);
}

}  // namespace
}  // namespace lcsweep
