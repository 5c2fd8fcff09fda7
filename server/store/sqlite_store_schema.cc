// SqliteStore's schema (see sqlite_store.h): the version a file is at, and
// the migrations (server/store/migrations.h) that bring it to this build's.
#include <sqlite3.h>

#include "common/logging.h"
#include "server/store/migrations.h"
#include "server/store/sqlite_store.h"
#include "server/store/sqlite_util.h"

namespace lcsweep {
namespace {

using namespace sqlite_util;  // NOLINT: the statement helpers of this store

std::shared_ptr<spdlog::logger> Log() { return GetLogger("store"); }

}  // namespace

int SqliteStore::LatestSchemaVersion() { return static_cast<int>(SchemaMigrations().size()); }

StatusOr<int> SqliteStore::SchemaVersion() {
  MutexLock lock(&mu_);
  return SchemaVersionLocked();
}

StatusOr<int> SqliteStore::SchemaVersionLocked() {
  LCSWEEP_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_version"));
  StmtScope scope(s);
  int rc = sqlite3_step(s);
  if (rc != SQLITE_ROW) return Error(rc, "cannot read schema_version");
  return static_cast<int>(Int(s, 0));
}

Status SqliteStore::Migrate() {
  LCSWEEP_RETURN_IF_ERROR(
      ExecLocked("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
           "applied_ms INTEGER NOT NULL DEFAULT (CAST(strftime('%s','now') AS INTEGER) * 1000))"));
  LCSWEEP_ASSIGN_OR_RETURN(int current, SchemaVersionLocked());
  const auto& migrations = SchemaMigrations();
  const int latest = static_cast<int>(migrations.size());
  if (current > latest)
    return FailedPreconditionError("database " + path_ + " has schema version " +
                                   std::to_string(current) + ", newer than this coordinator's " +
                                   std::to_string(latest) + "; run a newer lcsweep-coordinator");
  if (current == latest) return OkStatus();
  // A migration that rebuilds a table (SQLite's way to change a constraint)
  // drops and renames a table others reference: foreign keys are off while
  // migrations run (the pragma is a no-op inside a transaction) and checked
  // once they are done.
  LCSWEEP_RETURN_IF_ERROR(ExecLocked("PRAGMA foreign_keys=OFF"));
  for (int v = current + 1; v <= latest; ++v) {
    LCSWEEP_RETURN_IF_ERROR(ExecLocked("BEGIN IMMEDIATE"));
    Status s = ExecLocked(migrations[v - 1]);
    if (s.ok()) s = ExecLocked("INSERT INTO schema_version (version) VALUES (" + std::to_string(v) + ")");
    if (s.ok()) s = ExecLocked("COMMIT");
    if (!s.ok()) {
      if (!sqlite3_get_autocommit(db_)) ExecLocked("ROLLBACK");
      return Status(s.code(), "schema migration " + std::to_string(v) + " failed: " + s.message());
    }
    Log()->info("event=migrated version={} {}", v, Kv("path", path_));
  }
  LCSWEEP_RETURN_IF_ERROR(ExecLocked("PRAGMA foreign_keys=ON"));
  return ForeignKeysIntactLocked();
}

Status SqliteStore::ForeignKeysIntactLocked() {
  LCSWEEP_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare("PRAGMA foreign_key_check"));
  StmtScope scope(s);
  const int rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) return OkStatus();
  if (rc != SQLITE_ROW) return Error(rc, "cannot check foreign keys after the migrations");
  return DataLossError("database " + path_ + ": after the schema migrations table " + Text(s, 0) +
                       " row " + std::to_string(Int(s, 1)) + " references a missing " +
                       Text(s, 2) + " row; restore the database from a backup");
}

}  // namespace lcsweep
