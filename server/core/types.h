// Domain records of the coordinator: sweeps, jobs, workers, metric points,
// audit events, checkpoint metadata, aggregated results, and the request /
// response structs of the Coordinator API (server/core/coordinator.h).
//
// These are plain values with no gRPC, SQLite or LibTorch types; the rpc
// layer converts them to and from protobuf, the store persists them. JSON
// payloads (sweep spec, job config, axes, results) are kept as serialized
// JSON text so that they pass through the core and the store unchanged.
// Times are int64 milliseconds since the Unix epoch (see clock.h); 0 = unset.
// Ids are positive int64 values assigned by the coordinator; 0 = none.
// Thread-safety: values; safe to copy between threads.
#pragma once

#include <cstdint>
#include <climits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/resource_usage.h"
#include "common/status.h"

namespace lcsweep {

// ---------------------------------------------------------------------------
// Job states (server/core/job_lifecycle.h has the transitions).
enum class JobState {
  kQueued = 0,
  kRunning = 1,
  kSucceeded = 2,
  kFailed = 3,
  kCancelled = 4,
  kStopped = 5,   // stopped by the sweep's early-stopping rule: not a failure
};
inline constexpr int kNumJobStates = 6;

// "queued", "running", "succeeded", "failed", "cancelled", "stopped".
const char* JobStateName(JobState state);
// Inverse of JobStateName; nullopt for an unknown name.
std::optional<JobState> ParseJobState(const std::string& name);
// succeeded, failed, cancelled and stopped are terminal (only RetryJob / a
// new submission moves a job out of failed, cancelled or stopped; succeeded
// is final unless a submission forces a re-run, which creates a new job).
bool IsTerminal(JobState state);

// Page tokens of the id-ordered lists (sweeps, jobs, events, result groups,
// workers): the decimal id of the last item of the previous page; "" = from
// the start (0). INVALID_ARGUMENT for anything else.
StatusOr<int64_t> ParseIdPageToken(const std::string& token);

// ---------------------------------------------------------------------------
struct SweepRecord {
  int64_t id = 0;
  std::string name;
  std::string description;
  int priority = 0;          // higher runs first
  int max_attempts = 3;      // per job, see JobRecord::attempt
  std::vector<std::string> tags;
  std::string spec_json;     // the sweep spec as submitted (after priority override)
  int64_t created_ms = 0;
  int64_t cancelled_ms = 0;  // set by CancelSweep; 0 = not cancelled
  // The client's idempotency key of the submission ("" = none): a retry with
  // the same key returns this sweep instead of creating another.
  std::string request_id;
  // false while a large submission is being written in chunks (see
  // Coordinator::SubmitSweep): the sweep and its new jobs are in the store
  // but not yet scheduled; a store that loads an incomplete sweep rolls it
  // back (WriteBatch::rolled_back_sweeps). Always true in memory.
  bool complete = true;
};

// What a job needs from a worker; from the job config's "resources".
struct JobRequirements {
  std::string device = "any";     // "cpu" | "cuda" | "any"
  double min_gpu_memory_gb = 0;   // only checked when the job runs on cuda
  // The coordinator's estimate of the job's device memory (0 = none): raised
  // after an out-of-memory release, so the next lease asks for more.
  double memory_estimate_gb = 0;
};

// Why a worker gives a running job back (ReleaseJob).
enum class ReleaseKind {
  kDrain,        // the worker stops (drain, undelivered metrics): not the job's fault
  kOutOfMemory,  // the job ran out of device memory: its estimate is raised
  kDoesNotFit,   // the worker's estimate exceeds what it can give: estimate raised
};

// The device memory a job needs to be leased on a GPU: its configured
// minimum or the coordinator's estimate, whichever is larger.
inline double RequiredGpuMemoryGb(const JobRequirements& r) {
  return r.min_gpu_memory_gb > r.memory_estimate_gb ? r.min_gpu_memory_gb : r.memory_estimate_gb;
}

// Latest progress a worker reported (heartbeat and metric reports).
struct JobProgress {
  int64_t epoch = 0;
  int64_t step = 0;
  std::map<std::string, double> metrics;  // last value of each metric name
  int64_t updated_ms = 0;
};

struct JobRecord {
  int64_t id = 0;
  // Every sweep that contains this job, ascending. Dedupe by config hash
  // means one job can belong to several sweeps (the sweep_jobs link table).
  std::vector<int64_t> sweep_ids;
  std::string config_json;     // the full JobConfig as JSON (canonical form)
  std::string hash;            // hex SHA-256 of the canonical config (dedupe key)
  std::string group_hash;      // hash of the config minus its seed (results grouping)
  std::string axes_json;       // JSON object: swept axis path -> value for this job
  JobState state = JobState::kQueued;
  // Max of the priorities of its sweeps at the time they were submitted.
  int priority = 0;
  // Number of the attempt that is running or will run next, starting at 1.
  // A failure with retryable=true or an expired lease moves to attempt + 1
  // while attempt < max_attempts; a release (drain) keeps it.
  int attempt = 1;
  // Last attempt number the job may fail in (absolute; RetryJob raises it,
  // and so does every lost lease: see server/core/job_lifecycle.h).
  int max_attempts = 3;
  // The two budgets of the current window (reset by RetryJob / resubmit):
  // failed attempts (errors the job raised) and losses of its worker
  // (expired or released leases).
  int failures = 0;
  int losses = 0;
  // Leases handed out for this job so far; the current lease is number
  // `leases`. Metric reports are deduplicated per (job, lease, sequence).
  int64_t leases = 0;
  // An out-of-memory release cost this job one attempt already; later ones
  // count as losses (see job_lifecycle.h).
  bool oom_counted = false;
  // Lease (valid while running; the token also stays on a job cancelled while
  // running so its worker is told on the next heartbeat).
  std::string lease_token;     // fencing token, unguessable, fresh per lease
  int64_t lease_owner = 0;     // worker id
  int64_t lease_expiry_ms = 0;
  JobRequirements requirements;
  int64_t created_ms = 0;
  int64_t queued_ms = 0;       // last time it entered queued
  int64_t started_ms = 0;      // last lease
  int64_t finished_ms = 0;     // last entry into a terminal state
  int64_t updated_ms = 0;      // last change of any field
  std::string error;           // last failure message
  bool retryable = false;      // of the last failure
  std::string result_json;     // set on success ("" otherwise)
  JobProgress progress;
  // Global change counter at this job's last change (see Coordinator::Version);
  // in memory only, not persisted.
  uint64_t version = 0;
};

// A device a worker offers.
struct WorkerDevice {
  std::string kind = "cpu";   // "cpu" | "cuda"
  std::string name;           // e.g. "cuda:0", "NVIDIA H100"
  double memory_gb = 0;       // total memory (cuda)
  double free_memory_gb = 0;  // free when the worker last measured it (0 = unknown)
};

struct WorkerRecord {
  int64_t id = 0;
  std::string name;
  std::string host;
  std::vector<WorkerDevice> devices;
  int cores = 0;
  int slots = 1;
  std::map<std::string, std::string> versions;  // e.g. {"lcsweep": "0.1.0", "libtorch": "1.13.1"}
  std::map<std::string, std::string> labels;    // free-form operator labels
  int64_t registered_ms = 0;
  int64_t last_seen_ms = 0;   // last register / lease / heartbeat
  // Ids of the jobs this worker currently holds leases for (derived from the
  // jobs, filled in by ListWorkers; not persisted).
  std::vector<int64_t> current_jobs;
};

struct MetricPoint {
  int64_t job_id = 0;
  int attempt = 0;
  int64_t step = 0;
  int64_t epoch = 0;
  std::string name;
  double value = 0;
  int64_t time_ms = 0;
  // Set by the store on reads: a later lease of the job resumed from a
  // checkpoint before this point's step (or started over), so the point was
  // re-measured by a later attempt. Superseded points are kept (an
  // acknowledged metric is never lost) but left out of the job's live series.
  // Ignored on writes: new points are always live.
  bool superseded = false;
};

// One ReportMetrics call as the store writes it: the points are stored once
// per (job_id, lease, seq) however often the report is committed (a worker
// resends a report whose reply it did not get). seq 0: no deduplication.
struct MetricReport {
  int64_t job_id = 0;
  int64_t lease = 0;     // JobRecord::leases of the lease that sent it
  int64_t seq = 0;       // the worker's report number within that lease, from 1
  std::vector<MetricPoint> points;
};

// One audit-trail entry: every state change of a job writes one.
struct Event {
  int64_t id = 0;              // assigned by the store, ascending
  int64_t job_id = 0;
  int attempt = 0;             // the job's attempt number after the change
  std::string from_state;      // "" for creation
  std::string to_state;
  std::string reason;          // e.g. "submitted", "leased", "lease expired", "cancelled by user"
  int64_t worker_id = 0;       // the worker involved, 0 if none
  int64_t time_ms = 0;
};

struct CheckpointMeta {
  int64_t id = 0;
  int64_t job_id = 0;
  int attempt = 0;
  int64_t epoch = 0;
  int64_t step = 0;
  std::string sha256;          // hex of the checkpoint file
  int64_t size_bytes = 0;
  std::string path;            // where the rpc layer stored it (artifact dir)
  int64_t time_ms = 0;
};

// The accounting row of one lease of a job. Written when the lease is granted
// (outcome "running"), its figures replaced by every heartbeat and by the
// final call that carries a measurement, its outcome set when the lease ends
// (server/core/job_lifecycle.h, Transition::lease_outcome). Kept for every
// attempt however it ended: failed, lost and cancelled work is compute spent.
struct AttemptUsage {
  int64_t job_id = 0;
  int64_t lease = 0;             // JobRecord::leases of the lease, from 1
  int attempt = 0;
  int64_t worker_id = 0;
  // "running", "succeeded", "failed", "released", "out_of_memory" (released
  // after an out-of-memory error), "lost" (lease expired), "cancelled",
  // "stopped" (early stopping).
  std::string outcome;
  int64_t started_ms = 0;
  int64_t ended_ms = 0;          // 0 while running
  bool measured = false;         // the worker reported `usage` at least once
  ResourceUsage usage;
};

// The final model of a job (one per job; spec.proto Model says what the file
// holds). A row outlives its file when the retention policy deletes it
// (pruned = true, path empty), so a download can say why there is none.
struct ModelMeta {
  int64_t job_id = 0;
  int attempt = 0;
  std::string sha256;          // lower-case hex of the file
  int64_t size_bytes = 0;
  std::string path;            // where the rpc layer stored it (artifact dir); "" once pruned
  int64_t time_ms = 0;
  bool pruned = false;         // deleted by the retention policy
};

// ---------------------------------------------------------------------------
// Results aggregated over seeds.
//
// The result JSON of every succeeded job is flattened into numeric figures:
//  - nested object keys are joined with ".": {"test":{"accuracy":0.9}} -> "test.accuracy";
//  - an array of objects labels each element by its identifying fields
//    (keys "name", "attack", "corruption", "eps", "severity", "layer",
//    "kind", "steps", in that order, those present) as "[k=v,...]", or by its
//    index "[i]" when it has none:
//    {"eval":{"fgsm":[{"eps":0.00392157,"accuracy":0.5}]}}
//      -> "eval.fgsm[eps=0.00392157].accuracy";
//  - an array of numbers yields "path[i]";
//  - numbers are figures (booleans, strings and nulls are skipped);
//  - numbers in labels print with up to 6 significant digits (%.6g).
struct FigureStats {
  double mean = 0;
  double std = 0;   // sample standard deviation (n - 1 denominator); 0 when n == 1
  int64_t n = 0;    // succeeded jobs of the group that have this figure
};

// One group = jobs whose configs differ only in their seed (same group_hash).
struct ResultGroup {
  std::string group_hash;
  std::string axes_json;             // axes of the first job of the group, "seed" removed
  std::vector<int64_t> job_ids;      // every job of the sweep in this group
  std::vector<int64_t> seeds;        // seeds of the succeeded jobs
  int64_t n_succeeded = 0;
  std::map<std::string, FigureStats> figures;
};

// ---------------------------------------------------------------------------
// Request / response structs of the Coordinator API.

struct SubmitSweepRequest {
  std::string spec_json;              // the sweep spec (common/sweep_spec.h)
  bool force = false;                 // re-run jobs that already finished
  std::optional<int> priority;        // overrides the spec's priority
  bool dry_run = false;               // parse + expand + dedupe lookup only; nothing stored, ids 0
  // Idempotency key chosen by the client ("" = none; see SweepRecord).
  std::string request_id;
};

// What happened to one expanded job of a submission.
enum class SubmitOutcome {
  kCreated = 0,        // a new job was queued
  kReused = 1,         // an identical queued or running job was linked
  kReusedResult = 2,   // an identical succeeded job was linked; its result is returned
  kRequeued = 3,       // an identical failed/cancelled job was linked and requeued
  kForced = 4,         // force: a new job was created next to the finished one
};
const char* SubmitOutcomeName(SubmitOutcome outcome);

struct SubmittedJob {
  int64_t job_id = 0;
  std::string hash;
  SubmitOutcome outcome = SubmitOutcome::kCreated;
  JobState state = JobState::kQueued;
  std::string result_json;            // for kReusedResult
  std::string config_json;            // canonical config (filled on dry runs only)
  bool reused() const {
    return outcome == SubmitOutcome::kReused || outcome == SubmitOutcome::kReusedResult ||
           outcome == SubmitOutcome::kRequeued;
  }
};

struct SubmitSweepResult {
  int64_t sweep_id = 0;
  int64_t jobs_created = 0;           // kCreated + kForced
  int64_t jobs_reused = 0;            // kReused + kReusedResult + kRequeued
  std::vector<SubmittedJob> jobs;     // one per expanded job, in expansion order
  bool dry_run = false;
  // True when request_id named an earlier submission: the sweep is that one,
  // `jobs` lists its jobs as they are now (ascending id; outcomes kCreated for
  // jobs first created by it, kReused for the others), the counts are its own.
  bool replayed = false;
};

struct SweepSummary {
  SweepRecord sweep;
  int64_t total_jobs = 0;
  // Jobs of the sweep in each state, indexed by static_cast<int>(JobState).
  int64_t counts[kNumJobStates] = {0, 0, 0, 0, 0, 0};
};

struct ListSweepsRequest {
  int page_size = 100;               // 1..1000; 0 means 100
  std::string page_token;            // "" = first page
  std::string tag;                   // only sweeps with this tag; "" = all
};

struct ListSweepsResult {
  std::vector<SweepSummary> sweeps;  // newest first
  std::string next_page_token;       // "" = no more pages
};

struct ListJobsRequest {
  std::optional<int64_t> sweep_id;
  std::optional<JobState> state;     // kept for convenience; ANDed with `states`
  std::vector<JobState> states;      // any of these; empty = any state
  int64_t worker_id = 0;             // only jobs leased by this worker (lease_owner); 0 = any
  int page_size = 100;               // 1..1000; 0 means 100
  std::string page_token;            // "" = first page; else next_page_token of the previous page
};

struct ListJobsResult {
  std::vector<JobRecord> jobs;       // ascending job id
  std::string next_page_token;       // "" = no more pages
  int64_t total = 0;                 // jobs matching the filters (all pages)
};

struct CancelSweepResult {
  int64_t cancelled = 0;             // queued jobs moved to cancelled
  int64_t cancel_requested = 0;      // running jobs moved to cancelled (told on next heartbeat)
  int64_t skipped_shared = 0;        // left alone: also in another sweep that is not cancelled
  int64_t already_finished = 0;      // succeeded / failed / cancelled before
};

// What a worker offers when it asks for a job.
struct LeaseRequest {
  int64_t worker_id = 0;
  bool has_cpu = true;                // may run "cpu" and "any" jobs on the CPU
  bool has_cuda = false;              // may run "cuda" and "any" jobs on a GPU
  double free_gpu_memory_gb = 0;      // largest free GPU memory it can give one job
  // The device the job would run on ("" = unnamed: only free_gpu_memory_gb
  // is matched). Named, the coordinator also bounds the job's memory by the
  // free memory the worker last reported for it less what it leased there
  // since (Coordinator::LeaseJob).
  std::string device = "";
};

struct Lease {
  JobRecord job;                      // the job, already in state running
  std::string token;                  // fencing token; present it on every call
  int64_t expiry_ms = 0;
  int64_t heartbeat_interval_ms = 0;  // suggested heartbeat cadence
  std::optional<CheckpointMeta> checkpoint;  // newest checkpoint to resume from
};

struct HeartbeatRequest {
  std::string token;
  JobProgress progress;               // epoch, step, metrics (updated_ms ignored)
  std::optional<ResourceUsage> usage; // the attempt's usage so far; absent = not measured
  // The worker's devices with the free memory it measured now; empty = not
  // measured. Replaces what the coordinator knew about the free memory of
  // the devices named.
  std::vector<WorkerDevice> devices = {};
};

struct HeartbeatResult {
  bool cancel_requested = false;      // the job was cancelled: stop and abandon it
  int64_t expiry_ms = 0;              // the extended lease expiry (0 when cancelled)
};

struct RegisterWorkerResult {
  int64_t worker_id = 0;
  int64_t lease_ttl_ms = 0;
  int64_t heartbeat_interval_ms = 0;
};

// Result of RecordCheckpoint: the metadata rows that were pruned (the rpc
// layer deletes their files).
struct RecordCheckpointResult {
  CheckpointMeta recorded;
  std::vector<CheckpointMeta> pruned;
};

// Result of RecordModel. `remove` lists files the rpc layer deletes: models
// the retention policy pruned, the job's model that the new one replaced, or
// the new upload itself when it duplicated the stored model.
struct RecordModelResult {
  ModelMeta recorded;
  bool duplicate = false;
  std::vector<std::string> remove;
};

struct ListMetricsRequest {
  int64_t job_id = 0;
  std::vector<std::string> names;    // empty = all names
  int attempt = 0;                   // 0 = all attempts
  int64_t min_step = INT64_MIN;      // only points with min_step <= step <= max_step
  int64_t max_step = INT64_MAX;
  // Coordinator::ListMetrics (every page, in process): at most this many points.
  int limit = 1'000'000;
  // Coordinator::ListMetricsPage and Store::ListMetrics: points per page,
  // ordered by (step, name, arrival); clamped to [1, 10000] (0 = 1000).
  int page_size = 0;
  std::string page_token;            // "" = first page; else next_page_token
  // false: only live points, i.e. the job's series with each step once (the
  // points a resumed attempt re-measured are left out); true: every stored
  // point, superseded ones flagged (MetricPoint::superseded).
  bool include_superseded = false;
};

struct ListMetricsResult {
  std::vector<MetricPoint> points;   // ascending (step, name, arrival)
  std::string next_page_token;       // "" = no more pages
};

// The accounting rows of a sweep's jobs (or of one job), ascending
// (job_id, lease).
struct ListUsageRequest {
  int64_t sweep_id = 0;              // jobs linked to this sweep; 0 = any
  int64_t job_id = 0;                // only this job; 0 = any
  // Rows after (after_job_id, after_lease) in that order; at most `limit`
  // (the coordinator clamps it to [1, 5000]; 0 = 1000).
  int64_t after_job_id = 0;
  int64_t after_lease = 0;
  int limit = 1000;
};

struct ListEventsRequest {
  int64_t after_id = 0;              // events with id > after_id
  int64_t sweep_id = 0;              // only jobs of this sweep; 0 = all
  int64_t job_id = 0;                // only this job; 0 = all
  int limit = 500;                   // 1..5000; 0 means 500
};

// Aggregated results of a selection of jobs.
struct ResultsSummary {
  std::vector<ResultGroup> groups;   // ascending by first job id
  int64_t pending_jobs = 0;          // jobs of the selection not succeeded (yet)
};

}  // namespace lcsweep
