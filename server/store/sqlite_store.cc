// SqliteStore implementation (see sqlite_store.h): opening the file and
// writing batches; reads are in sqlite_store_read.cc, the schema's version
// and migrations in sqlite_store_schema.cc. The file stays long because
// CommitLocked writes every part of a WriteBatch, in the order the Store
// contract gives, inside one transaction: one function per part would
// scatter that order over several places.
#include "server/store/sqlite_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>
#include <cstring>
#include <utility>

#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "common/logging.h"
#include "server/store/sqlite_util.h"

namespace lcsweep {
namespace {

using namespace sqlite_util;  // NOLINT: the statement helpers of this store

std::shared_ptr<spdlog::logger> Log() {
  static std::shared_ptr<spdlog::logger> logger = GetLogger("store");
  return logger;
}

constexpr const char* kUpsertSweep = R"sql(
INSERT INTO sweeps (id, name, description, priority, max_attempts, tags_json, spec_json,
                    created_ms, cancelled_ms, request_id, complete)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
ON CONFLICT(id) DO UPDATE SET name=excluded.name, description=excluded.description,
  priority=excluded.priority, max_attempts=excluded.max_attempts, tags_json=excluded.tags_json,
  spec_json=excluded.spec_json, created_ms=excluded.created_ms, cancelled_ms=excluded.cancelled_ms,
  request_id=excluded.request_id, complete=excluded.complete
)sql";


const std::string& UpsertJobSql() {
  static const std::string* sql = [] {
    std::string s = std::string("INSERT INTO jobs (") + kJobColumns + ") VALUES (";
    for (int i = 1; i <= 31; ++i) s += (i > 1 ? ", ?" : "?") + std::to_string(i);
    s += ") ON CONFLICT(id) DO UPDATE SET ";
    const char* cols[] = {"config_json", "hash", "group_hash", "axes_json", "state", "priority",
                          "attempt", "max_attempts", "lease_token", "lease_owner",
                          "lease_expiry_ms", "device", "min_gpu_memory_gb", "created_ms",
                          "queued_ms", "started_ms", "finished_ms", "updated_ms", "error",
                          "retryable", "result_json", "progress_epoch", "progress_step",
                          "progress_metrics_json", "progress_updated_ms", "failures",
                          "losses", "leases", "memory_estimate_gb", "oom_counted"};
    bool first = true;
    for (const char* c : cols) {
      s += std::string(first ? "" : ", ") + c + "=excluded." + c;
      first = false;
    }
    return new std::string(s);
  }();
  return *sql;
}

constexpr const char* kUpsertWorker = R"sql(
INSERT INTO workers (id, name, host, devices_json, cores, slots, versions_json, labels_json,
                     registered_ms, last_seen_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
ON CONFLICT(id) DO UPDATE SET name=excluded.name, host=excluded.host,
  devices_json=excluded.devices_json, cores=excluded.cores, slots=excluded.slots,
  versions_json=excluded.versions_json, labels_json=excluded.labels_json,
  registered_ms=excluded.registered_ms, last_seen_ms=excluded.last_seen_ms
)sql";

constexpr const char* kUpsertCheckpoint = R"sql(
INSERT INTO checkpoints (id, job_id, attempt, epoch, step, sha256, size_bytes, path, time_ms)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
ON CONFLICT(id) DO UPDATE SET job_id=excluded.job_id, attempt=excluded.attempt,
  epoch=excluded.epoch, step=excluded.step, sha256=excluded.sha256,
  size_bytes=excluded.size_bytes, path=excluded.path, time_ms=excluded.time_ms
)sql";

constexpr const char* kUpsertModel = R"sql(
INSERT INTO models (job_id, attempt, sha256, size_bytes, path, time_ms, pruned)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
ON CONFLICT(job_id) DO UPDATE SET attempt=excluded.attempt, sha256=excluded.sha256,
  size_bytes=excluded.size_bytes, path=excluded.path, time_ms=excluded.time_ms,
  pruned=excluded.pruned
)sql";

constexpr const char* kInsertEvent =
    "INSERT INTO events (id, job_id, attempt, from_state, to_state, reason, worker_id, time_ms) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

constexpr const char* kInsertMetric =
    "INSERT INTO metrics (job_id, attempt, step, epoch, name, value, time_ms, is_nan) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

}  // namespace

SqliteStore::SqliteStore(std::string path, SqliteStoreOptions options)
    : path_(std::move(path)), options_(options) {}

SqliteStore::~SqliteStore() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  if (db_ != nullptr) sqlite3_close_v2(db_);
  if (lock_fd_ >= 0) close(lock_fd_);  // releases the flock
}


StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path,
                                                         SqliteStoreOptions options) {
  if (path.empty()) return InvalidArgumentError("database path is empty");
  std::unique_ptr<SqliteStore> store(new SqliteStore(path, options));
  {
    MutexLock lock(&store->mu_);  // nobody else sees it yet; the analysis wants it
    LCSWEEP_RETURN_IF_ERROR(store->OpenInternal());
  }
  return store;
}

Status SqliteStore::OpenInternal() {
  // 1. The single-writer lock, before SQLite touches the file.
  const std::string lock_path = path_ + ".lock";
  lock_fd_ = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0)
    return UnavailableError("cannot open lock file " + lock_path + ": " + std::strerror(errno));
  if (flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {0};
    ssize_t n = pread(lock_fd_, buf, sizeof(buf) - 1, 0);
    std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "unknown";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    close(lock_fd_);
    lock_fd_ = -1;
    return UnavailableError("database " + path_ + " is in use by another coordinator (pid " +
                            pid + ", lock file " + lock_path +
                            "); stop that coordinator or point this one at another database");
  }
  std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(lock_fd_, 0) != 0 ||
      pwrite(lock_fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
    Log()->warn("event=lock_pid_write_failed {}", Kv("path", lock_path));

  // 2. The connection. FULLMUTEX is not needed: mu_ serialises all use.
  int rc = sqlite3_open_v2(path_.c_str(), &db_,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    return InternalError("cannot open database " + path_ + ": " + msg);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, options_.busy_timeout_ms);

  // journal_mode=WAL also proves that the file is a database.
  {
    sqlite3_stmt* stmt = nullptr;
    rc = sqlite3_prepare_v2(db_, "PRAGMA journal_mode=WAL", -1, &stmt, nullptr);
    if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
    std::string mode = rc == SQLITE_ROW ? Text(stmt, 0) : "";
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW) return Error(rc, "cannot use " + path_ + " as a database");
    if (mode != "wal")
      return InternalError("database " + path_ + " cannot switch to WAL mode (got \"" + mode +
                           "\"); is it on a file system without shared memory support?");
  }
  LCSWEEP_RETURN_IF_ERROR(ExecLocked(std::string("PRAGMA synchronous=") +
                               (options_.sync_full ? "FULL" : "NORMAL") +
                               "; PRAGMA foreign_keys=ON;"));
  if (options_.max_page_count > 0)
    LCSWEEP_RETURN_IF_ERROR(ExecLocked("PRAGMA max_page_count=" + std::to_string(options_.max_page_count)));
  return Migrate();
}

Status SqliteStore::Error(int rc, const std::string& what) const {
  const std::string detail = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_FULL:
      return ResourceExhaustedError(what + ": database or disk is full (" + path_ + ": " + detail +
                                    "); nothing was written. Free disk space (or raise the size "
                                    "limit) and retry");
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return UnavailableError(what + ": database " + path_ + " is locked by another process (" +
                              detail + ") beyond the busy timeout of " +
                              std::to_string(options_.busy_timeout_ms) +
                              " ms; nothing was written. Retry later");
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return DataLossError(what + ": " + path_ + " is not a valid lcsweep database (" + detail + ")");
    default:
      return InternalError(what + ": " + detail + " (" + path_ + ")");
  }
}

Status SqliteStore::Exec(const std::string& sql) {
  MutexLock lock(&mu_);
  return ExecLocked(sql);
}

Status SqliteStore::ExecLocked(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (err != nullptr) sqlite3_free(err);
  if (rc != SQLITE_OK) return Error(rc, "statement failed");
  return OkStatus();
}

StatusOr<sqlite3_stmt*> SqliteStore::Prepare(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) return it->second;
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return Error(rc, "cannot prepare statement");
  statements_[sql] = stmt;
  return stmt;
}

// ---------------------------------------------------------------------------
// Commit

Status SqliteStore::Commit(const WriteBatch& batch) {
  if (batch.empty()) return OkStatus();
  MutexLock lock(&mu_);
  // IMMEDIATE takes the write lock now, so a lock held by another process
  // shows up here (after busy_timeout) rather than half-way through.
  int rc = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error(rc, "cannot start a write transaction");
  Status status = CommitLocked(batch);
  if (status.ok()) {
    rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) status = Error(rc, "commit failed");
  }
  if (!status.ok() && !sqlite3_get_autocommit(db_)) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  return status;
}

Status SqliteStore::RollBackSweepLocked(int64_t sweep_id) {
  {
    LCSWEEP_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare("SELECT complete FROM sweeps WHERE id = ?1"));
    StmtScope scope(s);
    Bind(s, 1, sweep_id);
    const int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return Error(rc, "cannot read sweep");
    if (rc == SQLITE_DONE || Int(s, 0) != 0)
      return FailedPreconditionError("refusing to roll back sweep " + std::to_string(sweep_id) +
                                     ": it is " + (rc == SQLITE_DONE ? "unknown" : "complete"));
  }
  // Every job linked to an incomplete sweep was created by its submission
  // (store.h), so these deletes touch nothing else. The links go before the
  // jobs they reference (foreign keys), so the ids are read first.
  std::vector<int64_t> jobs;
  {
    LCSWEEP_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                             Prepare("SELECT job_id FROM sweep_jobs WHERE sweep_id = ?1"));
    StmtScope scope(s);
    Bind(s, 1, sweep_id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) jobs.push_back(Int(s, 0));
    if (rc != SQLITE_DONE) return Error(rc, "cannot read the jobs of an incomplete sweep");
  }
  auto run = [&](const char* sql, int64_t id) LCSWEEP_NO_THREAD_SAFETY_ANALYSIS -> Status {
    LCSWEEP_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare(sql));  // under mu_, as the caller
    StmtScope scope(s);
    Bind(s, 1, id);
    const int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) return Error(rc, "cannot roll back an incomplete sweep");
    return OkStatus();
  };
  LCSWEEP_RETURN_IF_ERROR(run("DELETE FROM sweep_jobs WHERE sweep_id = ?1", sweep_id));
  for (int64_t job : jobs) {
    LCSWEEP_RETURN_IF_ERROR(run("DELETE FROM events WHERE job_id = ?1", job));
    LCSWEEP_RETURN_IF_ERROR(run("DELETE FROM attempt_usage WHERE job_id = ?1", job));
    LCSWEEP_RETURN_IF_ERROR(run("DELETE FROM jobs WHERE id = ?1", job));
  }
  return run("DELETE FROM sweeps WHERE id = ?1", sweep_id);
}

Status SqliteStore::WriteUsageLocked(const UsageWrite& u) {
  const AttemptUsage& r = u.row;
  const ResourceUsage& m = r.usage;
  // One statement: create the row if missing, then the parts the write names.
  // (An upsert whose DO UPDATE lists only those columns.)
  std::string sql =
      "INSERT INTO attempt_usage (job_id, lease, attempt, worker_id, outcome, started_ms, "
      "ended_ms, measured, wall_seconds, cpu_seconds, gpu_seconds, device_kind, device_model, "
      "images, peak_host_bytes, peak_device_bytes, energy_joules, energy_source) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18) "
      "ON CONFLICT (job_id, lease) DO ";
  std::vector<std::string> sets;
  if (u.outcome) sets = {"outcome = excluded.outcome", "ended_ms = excluded.ended_ms"};
  if (u.figures)
    for (const char* c : {"measured", "wall_seconds", "cpu_seconds", "gpu_seconds", "device_kind",
                          "device_model", "images", "peak_host_bytes", "peak_device_bytes",
                          "energy_joules", "energy_source"})
      sets.push_back(std::string(c) + " = excluded." + c);
  if (sets.empty()) {
    sql += "NOTHING";
  } else {
    sql += "UPDATE SET ";
    for (size_t i = 0; i < sets.size(); ++i) sql += (i ? ", " : "") + sets[i];
  }
  LCSWEEP_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare(sql));
  StmtScope scope(s);
  const bool figures = u.figures;
  Bind(s, 1, r.job_id);
  Bind(s, 2, r.lease);
  Bind(s, 3, r.attempt);
  Bind(s, 4, r.worker_id);
  Bind(s, 5, r.outcome);
  Bind(s, 6, r.started_ms);
  Bind(s, 7, u.outcome ? r.ended_ms : int64_t{0});
  Bind(s, 8, figures);
  Bind(s, 9, figures ? m.wall_seconds : 0.0);
  Bind(s, 10, figures ? m.cpu_seconds : 0.0);
  Bind(s, 11, figures ? m.gpu_seconds : 0.0);
  Bind(s, 12, figures ? m.device_kind : std::string());
  Bind(s, 13, figures ? m.device_model : std::string());
  Bind(s, 14, figures ? m.images : int64_t{0});
  Bind(s, 15, figures ? m.peak_host_bytes : int64_t{0});
  Bind(s, 16, figures ? m.peak_device_bytes : int64_t{0});
  Bind(s, 17, figures ? m.energy_joules : 0.0);
  Bind(s, 18, figures ? m.energy_source : std::string());
  const int rc = sqlite3_step(s);
  if (rc != SQLITE_DONE) return Error(rc, "cannot write attempt usage");
  return OkStatus();
}

Status SqliteStore::CommitLocked(const WriteBatch& batch) {
  // Called only below, under mu_ (the analysis cannot see into lambdas).
  auto step = [&](sqlite3_stmt* s, const char* what) LCSWEEP_NO_THREAD_SAFETY_ANALYSIS -> Status {
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) return Error(rc, what);
    return OkStatus();
  };
  for (int64_t sweep_id : batch.rolled_back_sweeps)
    LCSWEEP_RETURN_IF_ERROR(RollBackSweepLocked(sweep_id));
  if (batch.config_hash_version > 0) {
    LCSWEEP_RETURN_IF_ERROR(ExecLocked("DELETE FROM config_hash_version"));
    LCSWEEP_RETURN_IF_ERROR(ExecLocked("INSERT INTO config_hash_version (version) VALUES (" +
                                       std::to_string(batch.config_hash_version) + ")"));
  }
  if (!batch.sweeps.empty()) {
    LCSWEEP_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare(kUpsertSweep));
    for (const SweepRecord& r : batch.sweeps) {
      StmtScope scope(s);
      Bind(s, 1, r.id);
      Bind(s, 2, r.name);
      Bind(s, 3, r.description);
      Bind(s, 4, r.priority);
      Bind(s, 5, r.max_attempts);
      Bind(s, 6, nlohmann::json(r.tags).dump());
      Bind(s, 7, r.spec_json);
      Bind(s, 8, r.created_ms);
      Bind(s, 9, r.cancelled_ms);
      Bind(s, 10, r.request_id);
      Bind(s, 11, r.complete ? 1 : 0);
      LCSWEEP_RETURN_IF_ERROR(step(s, "cannot write sweep"));
    }
  }
  if (!batch.jobs.empty()) {
    LCSWEEP_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare(UpsertJobSql()));
    for (const JobRecord& j : batch.jobs) {
      StmtScope scope(s);
      Bind(s, 1, j.id);
      Bind(s, 2, j.config_json);
      Bind(s, 3, j.hash);
      Bind(s, 4, j.group_hash);
      Bind(s, 5, j.axes_json);
      Bind(s, 6, std::string(JobStateName(j.state)));
      Bind(s, 7, j.priority);
      Bind(s, 8, j.attempt);
      Bind(s, 9, j.max_attempts);
      Bind(s, 10, j.lease_token);
      Bind(s, 11, j.lease_owner);
      Bind(s, 12, j.lease_expiry_ms);
      Bind(s, 13, j.requirements.device);
      Bind(s, 14, j.requirements.min_gpu_memory_gb);
      Bind(s, 15, j.created_ms);
      Bind(s, 16, j.queued_ms);
      Bind(s, 17, j.started_ms);
      Bind(s, 18, j.finished_ms);
      Bind(s, 19, j.updated_ms);
      Bind(s, 20, j.error);
      Bind(s, 21, j.retryable);
      Bind(s, 22, j.result_json);
      Bind(s, 23, j.progress.epoch);
      Bind(s, 24, j.progress.step);
      Bind(s, 25, nlohmann::json(j.progress.metrics).dump());
      Bind(s, 26, j.progress.updated_ms);
      Bind(s, 27, j.failures);
      Bind(s, 28, j.losses);
      Bind(s, 29, j.leases);
      Bind(s, 30, j.requirements.memory_estimate_gb);
      Bind(s, 31, j.oom_counted);
      LCSWEEP_RETURN_IF_ERROR(step(s, "cannot write job"));
    }
  }
  for (const UsageWrite& u : batch.usage) LCSWEEP_RETURN_IF_ERROR(WriteUsageLocked(u));
  if (!batch.sweep_jobs.empty()) {
    LCSWEEP_ASSIGN_OR_RETURN(
        sqlite3_stmt * s,
        Prepare("INSERT OR IGNORE INTO sweep_jobs (sweep_id, job_id) VALUES (?1, ?2)"));
    for (const auto& [sweep_id, job_id] : batch.sweep_jobs) {
      StmtScope scope(s);
      Bind(s, 1, sweep_id);
      Bind(s, 2, job_id);
      LCSWEEP_RETURN_IF_ERROR(step(s, "cannot link job to sweep"));
    }
  }
  if (!batch.workers.empty()) {
    LCSWEEP_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare(kUpsertWorker));
    for (const WorkerRecord& w : batch.workers) {
      nlohmann::json devices = nlohmann::json::array();
      for (const WorkerDevice& d : w.devices)
        devices.push_back({{"kind", d.kind}, {"name", d.name}, {"memory_gb", d.memory_gb},
                           {"free_memory_gb", d.free_memory_gb}});
      StmtScope scope(s);
      Bind(s, 1, w.id);
      Bind(s, 2, w.name);
      Bind(s, 3, w.host);
      Bind(s, 4, devices.dump());
      Bind(s, 5, w.cores);
      Bind(s, 6, w.slots);
      Bind(s, 7, nlohmann::json(w.versions).dump());
      Bind(s, 8, nlohmann::json(w.labels).dump());
      Bind(s, 9, w.registered_ms);
      Bind(s, 10, w.last_seen_ms);
      LCSWEEP_RETURN_IF_ERROR(step(s, "cannot write worker"));
    }
  }
  if (!batch.checkpoints.empty()) {
    LCSWEEP_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare(kUpsertCheckpoint));
    for (const CheckpointMeta& c : batch.checkpoints) {
      StmtScope scope(s);
      Bind(s, 1, c.id);
      Bind(s, 2, c.job_id);
      Bind(s, 3, c.attempt);
      Bind(s, 4, c.epoch);
      Bind(s, 5, c.step);
      Bind(s, 6, c.sha256);
      Bind(s, 7, c.size_bytes);
      Bind(s, 8, c.path);
      Bind(s, 9, c.time_ms);
      LCSWEEP_RETURN_IF_ERROR(step(s, "cannot write checkpoint"));
    }
  }
  if (!batch.deleted_checkpoints.empty()) {
    LCSWEEP_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare("DELETE FROM checkpoints WHERE id = ?1"));
    for (int64_t id : batch.deleted_checkpoints) {
      StmtScope scope(s);
      Bind(s, 1, id);
      LCSWEEP_RETURN_IF_ERROR(step(s, "cannot delete checkpoint"));
    }
  }
  if (!batch.models.empty()) {
    LCSWEEP_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare(kUpsertModel));
    for (const ModelMeta& m : batch.models) {
      StmtScope scope(s);
      Bind(s, 1, m.job_id);
      Bind(s, 2, m.attempt);
      Bind(s, 3, m.sha256);
      Bind(s, 4, m.size_bytes);
      Bind(s, 5, m.path);
      Bind(s, 6, m.time_ms);
      Bind(s, 7, static_cast<int64_t>(m.pruned ? 1 : 0));
      LCSWEEP_RETURN_IF_ERROR(step(s, "cannot write model"));
    }
  }
  if (!batch.events.empty()) {
    LCSWEEP_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare(kInsertEvent));
    for (const Event& e : batch.events) {
      StmtScope scope(s);
      if (e.id > 0) Bind(s, 1, e.id);  // else NULL: next rowid
      Bind(s, 2, e.job_id);
      Bind(s, 3, e.attempt);
      Bind(s, 4, e.from_state);
      Bind(s, 5, e.to_state);
      Bind(s, 6, e.reason);
      Bind(s, 7, e.worker_id);
      Bind(s, 8, e.time_ms);
      LCSWEEP_RETURN_IF_ERROR(step(s, "cannot write event"));
    }
  }
  if (!batch.superseded_metrics.empty()) {
    // Before the batch's own points are appended: those are live. The
    // metrics_by_job index narrows the update to the job's rows.
    LCSWEEP_ASSIGN_OR_RETURN(
        sqlite3_stmt * s,
        Prepare("UPDATE metrics SET superseded = 1 WHERE job_id = ?1 AND step > ?2 "
                "AND superseded = 0 AND (?3 = 0 OR attempt = ?3)"));
    for (const SupersedeMetrics& m : batch.superseded_metrics) {
      StmtScope scope(s);
      Bind(s, 1, m.job_id);
      Bind(s, 2, m.after_step);
      Bind(s, 3, m.attempt);
      LCSWEEP_RETURN_IF_ERROR(step(s, "cannot mark metric points superseded"));
    }
  }
  if (!batch.metrics.empty() || !batch.metric_reports.empty()) {
    LCSWEEP_ASSIGN_OR_RETURN(sqlite3_stmt * insert, Prepare(kInsertMetric));
    auto write_points = [&](const std::vector<MetricPoint>& points) -> Status {
      for (const MetricPoint& p : points) {
        StmtScope scope(insert);
        const bool nan = std::isnan(p.value);
        Bind(insert, 1, p.job_id);
        Bind(insert, 2, p.attempt);
        Bind(insert, 3, p.step);
        Bind(insert, 4, p.epoch);
        Bind(insert, 5, p.name);
        Bind(insert, 6, nan ? 0.0 : p.value);
        Bind(insert, 7, p.time_ms);
        Bind(insert, 8, nan);
        LCSWEEP_RETURN_IF_ERROR(step(insert, "cannot write metric point"));
      }
      return OkStatus();
    };
    LCSWEEP_RETURN_IF_ERROR(write_points(batch.metrics));
    LCSWEEP_ASSIGN_OR_RETURN(
        sqlite3_stmt * seen,
        Prepare("INSERT OR IGNORE INTO metric_reports (job_id, lease, seq) VALUES (?1, ?2, ?3)"));
    for (const MetricReport& r : batch.metric_reports) {
      if (r.seq != 0) {
        StmtScope scope(seen);
        Bind(seen, 1, r.job_id);
        Bind(seen, 2, r.lease);
        Bind(seen, 3, r.seq);
        LCSWEEP_RETURN_IF_ERROR(step(seen, "cannot record metric report"));
        if (sqlite3_changes(db_) == 0) continue;  // stored before: a resend
      }
      LCSWEEP_RETURN_IF_ERROR(write_points(r.points));
    }
  }
  return OkStatus();
}

}  // namespace lcsweep
