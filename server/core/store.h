// Store: the durable state of the coordinator, as an interface so that the
// core has no SQLite types (SqliteStore in server/store/ implements it; an
// in-memory fake in tests/fakes/ serves unit tests).
//
// Model: the Coordinator loads everything it schedules on (sweeps, jobs with
// their sweep links, workers, checkpoint and model metadata) once with Load(), keeps it
// in memory, and writes every change through Commit() before it changes its
// memory or acknowledges a call. Metrics and events are append-only and only
// read back by queries; the one change to a stored metric point is marking it
// superseded (SupersedeMetrics), never deleting it. The one deletion of
// scheduling rows is the undo of an unfinished chunked submission
// (WriteBatch::rolled_back_sweeps).
//
// Contract of Commit: all of a WriteBatch is applied in one transaction, or
// nothing is (a failed commit leaves the store exactly as before). Errors:
//   RESOURCE_EXHAUSTED  disk (or the configured size limit) is full;
//   UNAVAILABLE         the database is locked by another process beyond the
//                       busy timeout;
//   INTERNAL / DATA_LOSS anything else (corruption, I/O error).
// A commit that returned OK is durable against a crash of the process
// (kill -9); power-loss durability depends on the implementation's sync mode.
//
// Thread-safety: implementations must be safe to call from several threads
// (SqliteStore serialises on its single writer connection).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "server/core/types.h"

namespace lcsweep {

// Everything the coordinator keeps in memory, as loaded from the store.
struct StoreSnapshot {
  std::vector<SweepRecord> sweeps;        // ascending id
  std::vector<JobRecord> jobs;            // ascending id, sweep_ids filled in
  std::vector<WorkerRecord> workers;      // ascending id
  std::vector<CheckpointMeta> checkpoints;  // ascending id
  std::vector<ModelMeta> models;          // ascending job id (pruned rows included)
  int64_t max_event_id = 0;               // largest event id stored (0 = none)
  // The identity rule the stored hashes follow (common/job_identity.h
  // kConfigHashVersion; 1 = the whole config, before versions were kept).
  int64_t config_hash_version = 1;
};

// Marks the stored metric points of one job with step > after_step as
// superseded (MetricPoint::superseded); nothing is deleted. Written when a
// lease hands the job out again: the new attempt resumes after the
// checkpoint at after_step (-1: no checkpoint, it starts over) and re-measures
// every later step.
struct SupersedeMetrics {
  int64_t job_id = 0;
  int64_t after_step = -1;
  int attempt = 0;                        // only points of this attempt; 0 = any attempt
};

// One write to the accounting row of a lease (AttemptUsage), keyed by
// (row.job_id, row.lease). The row is created when missing (with the ids,
// attempt, worker and started_ms given here); then `figures` replaces its
// measurement (row.usage, measured = true) and `outcome` sets row.outcome and
// row.ended_ms. Neither flag: only the creation.
struct UsageWrite {
  AttemptUsage row;
  bool figures = false;
  bool outcome = false;
};

// One atomic change. Upserts replace the whole row with the same id.
struct WriteBatch {
  std::vector<SweepRecord> sweeps;        // upsert by id
  std::vector<JobRecord> jobs;            // upsert by id (sweep_ids ignored here)
  std::vector<std::pair<int64_t, int64_t>> sweep_jobs;  // (sweep id, job id) links to add
  std::vector<WorkerRecord> workers;      // upsert by id
  std::vector<CheckpointMeta> checkpoints;  // upsert by id
  std::vector<int64_t> deleted_checkpoints;  // checkpoint ids to delete
  std::vector<ModelMeta> models;          // upsert by job id (pruning is an upsert with pruned set)
  std::vector<Event> events;              // append; id > 0 is kept, id 0 gets the next free id
  // Applied to the points stored before this batch, then `metrics` are
  // appended (live).
  std::vector<SupersedeMetrics> superseded_metrics;
  std::vector<MetricPoint> metrics;       // append (no deduplication)
  // Appended after `metrics`, each report's points only if its (job_id,
  // lease, seq) was not stored before (seq 0: always). A duplicate is not
  // an error: the commit succeeds and stores nothing for it.
  std::vector<MetricReport> metric_reports;
  // Incomplete sweeps (SweepRecord::complete false) to delete with every job
  // linked to them, their links and their audit entries: the undo of a
  // chunked submission that did not finish. Only the chunks of a submission
  // link jobs to an incomplete sweep, so every such job was created by it.
  // Applied first. A sweep that is complete (or unknown) is refused with
  // FAILED_PRECONDITION and nothing of the batch is applied.
  std::vector<int64_t> rolled_back_sweeps;
  // Applied in order, after the jobs.
  std::vector<UsageWrite> usage;
  // > 0: record that the stored hashes now follow this identity rule
  // (written with the rehashed jobs, server/core/rehash.h).
  int64_t config_hash_version = 0;

  bool empty() const {
    return sweeps.empty() && jobs.empty() && sweep_jobs.empty() && workers.empty() &&
           checkpoints.empty() && deleted_checkpoints.empty() && models.empty() && events.empty() &&
           superseded_metrics.empty() && metrics.empty() && metric_reports.empty() &&
           rolled_back_sweeps.empty() && usage.empty() && config_hash_version == 0;
  }
};

class Store {
 public:
  virtual ~Store() = default;

  // Reads the whole scheduling state.
  virtual StatusOr<StoreSnapshot> Load() = 0;

  // Applies `batch` atomically (see the contract above).
  virtual Status Commit(const WriteBatch& batch) = 0;

  // One page of a job's metric points (request.page_size points at most,
  // already clamped by the caller), ordered by (step, name, insertion),
  // filtered by names, attempt and [min_step, max_step]. Only live points
  // unless request.include_superseded (then each carries its flag); live
  // points are deduplicated per (name, step): the last inserted wins. Values
  // round-trip exactly, NaN and +-Inf included. INVALID_ARGUMENT for a page
  // token this store did not write.
  virtual StatusOr<ListMetricsResult> ListMetrics(const ListMetricsRequest& request) = 0;

  // Audit events matching the filters, ascending id, at most `limit`
  // (no clamping here; the coordinator validates the request).
  virtual StatusOr<std::vector<Event>> ListEvents(const ListEventsRequest& request) = 0;

  // Accounting rows matching the filters, ascending (job_id, lease), after
  // the request's position, at most `limit` (no clamping here). A rolled-back
  // sweep's jobs take their rows with them.
  virtual StatusOr<std::vector<AttemptUsage>> ListUsage(const ListUsageRequest& request) = 0;
};

}  // namespace lcsweep
