// Schema migrations (see migrations.h). Data model: sweeps,
// jobs, the sweep_jobs link table (dedupe puts one job in several sweeps),
// workers, metrics, checkpoints and events (the audit trail).
#include "server/store/migrations.h"

namespace lcsweep {

const std::vector<std::string>& SchemaMigrations() {
  static const std::vector<std::string>* migrations = new std::vector<std::string>{
      // 1: initial schema.
      R"sql(
CREATE TABLE sweeps (
  id            INTEGER PRIMARY KEY,
  name          TEXT    NOT NULL,
  description   TEXT    NOT NULL DEFAULT '',
  priority      INTEGER NOT NULL,
  max_attempts  INTEGER NOT NULL,
  tags_json     TEXT    NOT NULL DEFAULT '[]',
  spec_json     TEXT    NOT NULL,
  created_ms    INTEGER NOT NULL,
  cancelled_ms  INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE jobs (
  id                 INTEGER PRIMARY KEY,
  config_json        TEXT    NOT NULL,
  hash               TEXT    NOT NULL,
  group_hash         TEXT    NOT NULL,
  axes_json          TEXT    NOT NULL,
  state              TEXT    NOT NULL
                     CHECK (state IN ('queued','running','succeeded','failed','cancelled')),
  priority           INTEGER NOT NULL,
  attempt            INTEGER NOT NULL CHECK (attempt >= 1),
  max_attempts       INTEGER NOT NULL,
  lease_token        TEXT    NOT NULL DEFAULT '',
  lease_owner        INTEGER NOT NULL DEFAULT 0,
  lease_expiry_ms    INTEGER NOT NULL DEFAULT 0,
  device             TEXT    NOT NULL DEFAULT 'any',
  min_gpu_memory_gb  REAL    NOT NULL DEFAULT 0,
  created_ms         INTEGER NOT NULL,
  queued_ms          INTEGER NOT NULL DEFAULT 0,
  started_ms         INTEGER NOT NULL DEFAULT 0,
  finished_ms        INTEGER NOT NULL DEFAULT 0,
  updated_ms         INTEGER NOT NULL DEFAULT 0,
  error              TEXT    NOT NULL DEFAULT '',
  retryable          INTEGER NOT NULL DEFAULT 0,
  result_json        TEXT    NOT NULL DEFAULT '',
  progress_epoch     INTEGER NOT NULL DEFAULT 0,
  progress_step      INTEGER NOT NULL DEFAULT 0,
  progress_metrics_json TEXT NOT NULL DEFAULT '{}',
  progress_updated_ms   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX jobs_by_hash ON jobs(hash);
CREATE INDEX jobs_by_state ON jobs(state);
CREATE TABLE sweep_jobs (
  sweep_id  INTEGER NOT NULL REFERENCES sweeps(id),
  job_id    INTEGER NOT NULL REFERENCES jobs(id),
  PRIMARY KEY (sweep_id, job_id)
) WITHOUT ROWID;
CREATE INDEX sweep_jobs_by_job ON sweep_jobs(job_id);
CREATE TABLE workers (
  id             INTEGER PRIMARY KEY,
  name           TEXT    NOT NULL,
  host           TEXT    NOT NULL DEFAULT '',
  devices_json   TEXT    NOT NULL DEFAULT '[]',
  cores          INTEGER NOT NULL DEFAULT 0,
  slots          INTEGER NOT NULL DEFAULT 1,
  versions_json  TEXT    NOT NULL DEFAULT '{}',
  labels_json    TEXT    NOT NULL DEFAULT '{}',
  registered_ms  INTEGER NOT NULL,
  last_seen_ms   INTEGER NOT NULL
);
CREATE TABLE metrics (
  id       INTEGER PRIMARY KEY,
  job_id   INTEGER NOT NULL,
  attempt  INTEGER NOT NULL,
  step     INTEGER NOT NULL,
  epoch    INTEGER NOT NULL,
  name     TEXT    NOT NULL,
  value    REAL    NOT NULL,
  time_ms  INTEGER NOT NULL
);
CREATE INDEX metrics_by_job ON metrics(job_id, name);
CREATE TABLE events (
  id          INTEGER PRIMARY KEY,
  job_id      INTEGER NOT NULL,
  attempt     INTEGER NOT NULL,
  from_state  TEXT    NOT NULL,
  to_state    TEXT    NOT NULL,
  reason      TEXT    NOT NULL,
  worker_id   INTEGER NOT NULL DEFAULT 0,
  time_ms     INTEGER NOT NULL
);
CREATE INDEX events_by_job ON events(job_id, id);
CREATE TABLE checkpoints (
  id          INTEGER PRIMARY KEY,
  job_id      INTEGER NOT NULL REFERENCES jobs(id),
  attempt     INTEGER NOT NULL,
  epoch       INTEGER NOT NULL,
  step        INTEGER NOT NULL,
  sha256      TEXT    NOT NULL,
  size_bytes  INTEGER NOT NULL,
  path        TEXT    NOT NULL,
  time_ms     INTEGER NOT NULL
);
CREATE INDEX checkpoints_by_job ON checkpoints(job_id, id);
)sql",
      // 2: metric lineage. A point is superseded (1) once a later lease of its
      // job resumed from a checkpoint before its step, so a later attempt
      // measured that step again; superseded points are kept, and left out of
      // the live series (server/core/store.h, SupersedeMetrics). Existing
      // points start live.
      R"sql(
ALTER TABLE metrics ADD COLUMN superseded INTEGER NOT NULL DEFAULT 0;
)sql",
      // 3: exactly-once metrics, the two budgets, idempotent submissions.
      //  - metric_reports: one row per stored report (job, lease, seq), so a
      //    report resent after a lost reply is recognised and skipped.
      //  - metrics.is_nan: SQLite stores NaN as NULL, which the NOT NULL
      //    value column refuses; a NaN is stored as value 0 with is_nan 1.
      //    (+-Inf are REAL values SQLite keeps as they are.)
      //  - metrics_by_step: the paged, step-ordered reads of GetMetrics.
      //  - jobs.failures / losses / leases: see JobRecord.
      //  - sweeps.request_id: the client's idempotency key ('' = none).
      R"sql(
CREATE TABLE metric_reports (
  job_id  INTEGER NOT NULL,
  lease   INTEGER NOT NULL,
  seq     INTEGER NOT NULL,
  PRIMARY KEY (job_id, lease, seq)
) WITHOUT ROWID;
ALTER TABLE metrics ADD COLUMN is_nan INTEGER NOT NULL DEFAULT 0;
CREATE INDEX metrics_by_step ON metrics(job_id, step, name, id);
ALTER TABLE jobs ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN losses INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN leases INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sweeps ADD COLUMN request_id TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX sweeps_by_request ON sweeps(request_id) WHERE request_id != '';
)sql",
      // 4: chunked submissions. A large submission writes its sweep as
      // incomplete (0) and its new jobs in several transactions, then marks
      // it complete in the last one; a sweep found incomplete at load is
      // rolled back (server/core/store.h). Existing sweeps are complete.
      R"sql(
ALTER TABLE sweeps ADD COLUMN complete INTEGER NOT NULL DEFAULT 1;
)sql",
      // 5: compute accounting, one row per lease of a job (AttemptUsage in
      // server/core/types.h). Leases granted before this migration have no
      // row; a row is created for them by their first heartbeat or their end.
      R"sql(
CREATE TABLE attempt_usage (
  job_id            INTEGER NOT NULL REFERENCES jobs(id),
  lease             INTEGER NOT NULL,
  attempt           INTEGER NOT NULL,
  worker_id         INTEGER NOT NULL,
  outcome           TEXT    NOT NULL,
  started_ms        INTEGER NOT NULL,
  ended_ms          INTEGER NOT NULL DEFAULT 0,
  measured          INTEGER NOT NULL DEFAULT 0,
  wall_seconds      REAL    NOT NULL DEFAULT 0,
  cpu_seconds       REAL    NOT NULL DEFAULT 0,
  gpu_seconds       REAL    NOT NULL DEFAULT 0,
  device_kind       TEXT    NOT NULL DEFAULT '',
  device_model      TEXT    NOT NULL DEFAULT '',
  images            INTEGER NOT NULL DEFAULT 0,
  peak_host_bytes   INTEGER NOT NULL DEFAULT 0,
  peak_device_bytes INTEGER NOT NULL DEFAULT 0,
  energy_joules     REAL    NOT NULL DEFAULT 0,
  energy_source     TEXT    NOT NULL DEFAULT '',
  PRIMARY KEY (job_id, lease)
) WITHOUT ROWID;
)sql",
      // 6: the "stopped" state (early stopping). SQLite cannot change a
      // CHECK constraint in place, so the jobs table is rebuilt with the
      // same columns and indexes (the documented procedure; Migrate() runs
      // migrations with foreign keys off and checks them after).
      R"sql(
CREATE TABLE jobs_new (
  id                 INTEGER PRIMARY KEY,
  config_json        TEXT    NOT NULL,
  hash               TEXT    NOT NULL,
  group_hash         TEXT    NOT NULL,
  axes_json          TEXT    NOT NULL,
  state              TEXT    NOT NULL
                     CHECK (state IN ('queued','running','succeeded','failed','cancelled','stopped')),
  priority           INTEGER NOT NULL,
  attempt            INTEGER NOT NULL CHECK (attempt >= 1),
  max_attempts       INTEGER NOT NULL,
  lease_token        TEXT    NOT NULL DEFAULT '',
  lease_owner        INTEGER NOT NULL DEFAULT 0,
  lease_expiry_ms    INTEGER NOT NULL DEFAULT 0,
  device             TEXT    NOT NULL DEFAULT 'any',
  min_gpu_memory_gb  REAL    NOT NULL DEFAULT 0,
  created_ms         INTEGER NOT NULL,
  queued_ms          INTEGER NOT NULL DEFAULT 0,
  started_ms         INTEGER NOT NULL DEFAULT 0,
  finished_ms        INTEGER NOT NULL DEFAULT 0,
  updated_ms         INTEGER NOT NULL DEFAULT 0,
  error              TEXT    NOT NULL DEFAULT '',
  retryable          INTEGER NOT NULL DEFAULT 0,
  result_json        TEXT    NOT NULL DEFAULT '',
  progress_epoch     INTEGER NOT NULL DEFAULT 0,
  progress_step      INTEGER NOT NULL DEFAULT 0,
  progress_metrics_json TEXT NOT NULL DEFAULT '{}',
  progress_updated_ms   INTEGER NOT NULL DEFAULT 0,
  failures           INTEGER NOT NULL DEFAULT 0,
  losses             INTEGER NOT NULL DEFAULT 0,
  leases             INTEGER NOT NULL DEFAULT 0
);
INSERT INTO jobs_new (id, config_json, hash, group_hash, axes_json, state, priority, attempt,
    max_attempts, lease_token, lease_owner, lease_expiry_ms, device, min_gpu_memory_gb, created_ms,
    queued_ms, started_ms, finished_ms, updated_ms, error, retryable, result_json, progress_epoch,
    progress_step, progress_metrics_json, progress_updated_ms, failures, losses, leases)
  SELECT id, config_json, hash, group_hash, axes_json, state, priority, attempt,
    max_attempts, lease_token, lease_owner, lease_expiry_ms, device, min_gpu_memory_gb, created_ms,
    queued_ms, started_ms, finished_ms, updated_ms, error, retryable, result_json, progress_epoch,
    progress_step, progress_metrics_json, progress_updated_ms, failures, losses, leases FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_by_hash ON jobs(hash);
CREATE INDEX jobs_by_state ON jobs(state);
)sql",
      // 7: final models of succeeded jobs (one per job; spec.proto Model). A
      // row stays when the retention policy deletes the file (pruned 1,
      // path ''), so a download can say why there is none.
      R"sql(
CREATE TABLE models (
  job_id      INTEGER PRIMARY KEY,
  attempt     INTEGER NOT NULL,
  sha256      TEXT NOT NULL,
  size_bytes  INTEGER NOT NULL,
  path        TEXT NOT NULL,
  time_ms     INTEGER NOT NULL,
  pruned      INTEGER NOT NULL DEFAULT 0
);
)sql",
      // 8: job identity versions: the rule that jobs.hash and jobs.group_hash
      // follow (common/job_identity.h kConfigHashVersion). Stores that hold
      // jobs were hashed under rule 1 (the whole config); the coordinator
      // rehashes them at load (server/core/rehash.h) and records the rule it
      // used. A store without jobs has nothing to rehash: it starts at 2.
      R"sql(
CREATE TABLE config_hash_version (version INTEGER NOT NULL);
INSERT INTO config_hash_version (version) SELECT CASE WHEN EXISTS (SELECT 1 FROM jobs) THEN 1 ELSE 2 END;
)sql",
      // 9: OOM-aware placement: the coordinator's memory estimate of each job
      // (raised when the job ran out of memory or did not fit its worker)
      // and whether an out-of-memory release already cost it an attempt.
      R"sql(
ALTER TABLE jobs ADD COLUMN memory_estimate_gb REAL NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN oom_counted INTEGER NOT NULL DEFAULT 0;
)sql",
  };
  return *migrations;
}

}  // namespace lcsweep
