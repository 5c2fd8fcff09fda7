// SqliteStore: the coordinator's Store on one SQLite file.
//
//  - WAL journal, busy_timeout, foreign keys; synchronous=NORMAL by default
//    (a committed transaction survives a crash or kill -9 of the process;
//    synchronous=FULL, option `sync_full`, also survives power loss).
//  - Numbered schema migrations (migrations.h) applied on open, recorded in
//    schema_version; re-opening an up-to-date file changes nothing. A file
//    with a newer schema than this binary knows is refused.
//  - One writer: the coordinator process owns the only connection, and an
//    exclusive lock file ("<path>.lock", flock, holding the owner's pid)
//    makes a second coordinator on the same file fail to open with
//    UNAVAILABLE naming the pid, instead of two writers racing.
//  - Prepared statements are cached per SQL text for the connection's life.
//  - Every Commit is one transaction (BEGIN IMMEDIATE ... COMMIT): on any
//    error it is rolled back, so no half-written batch is ever visible.
//    SQLITE_FULL (disk or max_page_count full) -> RESOURCE_EXHAUSTED;
//    SQLITE_BUSY / SQLITE_LOCKED beyond busy_timeout (another process holds
//    the write lock) -> UNAVAILABLE; other errors -> INTERNAL.
//
// Thread-safety: all public methods are safe to call concurrently; they
// serialise on one mutex that guards the connection and the statement cache
// (checked: LCSWEEP_GUARDED_BY, clang -Wthread-safety).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/mutex.h"
#include "common/status.h"
#include "server/core/store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace lcsweep {

struct SqliteStoreOptions {
  int busy_timeout_ms = 5000;  // wait this long for a lock held by another process
  bool sync_full = false;      // synchronous=FULL instead of NORMAL
  // Caps the file at this many pages (PRAGMA max_page_count); 0 = no cap.
  // Operators can bound the database size; tests use it to simulate a full disk.
  int64_t max_page_count = 0;
};

class SqliteStore final : public Store {
 public:
  // Opens (creating if needed) and migrates the database at `path`.
  // UNAVAILABLE when another coordinator holds the file's lock;
  // FAILED_PRECONDITION for a schema newer than this binary; INTERNAL for a
  // file that is not a SQLite database or cannot be opened.
  static StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& path,
                                                     SqliteStoreOptions options = {});
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  StatusOr<StoreSnapshot> Load() override;
  Status Commit(const WriteBatch& batch) override;
  StatusOr<ListMetricsResult> ListMetrics(const ListMetricsRequest& request) override;
  StatusOr<std::vector<Event>> ListEvents(const ListEventsRequest& request) override;
  StatusOr<std::vector<AttemptUsage>> ListUsage(const ListUsageRequest& request) override;

  // The schema version recorded in the file, and the newest this binary knows.
  StatusOr<int> SchemaVersion();
  static int LatestSchemaVersion();

  // Runs SQL statements outside the Store contract (e.g. a PRAGMA in tests or
  // maintenance), under the same mutex. Errors are mapped as for Commit.
  Status Exec(const std::string& sql) LCSWEEP_EXCLUDES(mu_);

  const std::string& path() const { return path_; }

 private:
  SqliteStore(std::string path, SqliteStoreOptions options);
  Status OpenInternal() LCSWEEP_REQUIRES(mu_);
  Status Migrate() LCSWEEP_REQUIRES(mu_);
  Status ExecLocked(const std::string& sql) LCSWEEP_REQUIRES(mu_);
  StatusOr<int> SchemaVersionLocked() LCSWEEP_REQUIRES(mu_);
  // PRAGMA foreign_key_check: OK, or DATA_LOSS naming the first broken row.
  Status ForeignKeysIntactLocked() LCSWEEP_REQUIRES(mu_);
  // The cached prepared statement for `sql`.
  StatusOr<sqlite3_stmt*> Prepare(const std::string& sql) LCSWEEP_REQUIRES(mu_);
  // Maps the connection's last error (code `rc`) to a Status.
  Status Error(int rc, const std::string& what) const LCSWEEP_REQUIRES(mu_);
  Status CommitLocked(const WriteBatch& batch) LCSWEEP_REQUIRES(mu_);
  // One entry of WriteBatch::rolled_back_sweeps, inside CommitLocked's
  // transaction.
  Status RollBackSweepLocked(int64_t sweep_id) LCSWEEP_REQUIRES(mu_);
  // One entry of WriteBatch::usage (the upsert of store.h's UsageWrite).
  Status WriteUsageLocked(const UsageWrite& write) LCSWEEP_REQUIRES(mu_);

  const std::string path_;
  const SqliteStoreOptions options_;
  Mutex mu_;
  sqlite3* db_ LCSWEEP_GUARDED_BY(mu_) = nullptr;
  int lock_fd_ = -1;  // set by Open, read by the destructor only
  std::unordered_map<std::string, sqlite3_stmt*> statements_ LCSWEEP_GUARDED_BY(mu_);
};

}  // namespace lcsweep
