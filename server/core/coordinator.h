// Coordinator: the domain logic of the lcsweep coordinator (docs/architecture.md and
// server/core/job_lifecycle.h): sweep submission with dedupe, the job queue with
// priorities and fair share, leases with fencing tokens, heartbeats, retries,
// cancellation, release (drain), the lease reaper, the audit trail, results
// aggregated over seeds, and the change feed that watchers read.
//
// No gRPC and no SQLite here: the rpc layer (server/rpc/) converts messages
// and calls exactly one method per RPC; persistence goes through the Store
// interface; time comes from the injected Clock.
//
// Ownership: the Coordinator does not own its Store or Clock; both must
// outlive it. It keeps the scheduling state (sweeps, jobs, workers, checkpoint
// metadata) in memory, loaded from the store by Create(); every change is
// committed to the store first and applied to memory only when the commit
// succeeded, so a failed commit (disk full, locked file) changes nothing and
// its Status is returned to the caller unchanged (RESOURCE_EXHAUSTED,
// UNAVAILABLE, ...).
//
// Thread-safety: every public method may be called from any thread. One mutex
// guards the in-memory state; it is held while a state change is committed,
// so state changes are serialised (SQLite has one writer anyway). Metric
// points are the exception: ReportMetrics checks the token under the mutex and
// then hands the points to a group-commit batcher, which writes the points of
// all concurrent reporters in one transaction; ReportMetrics returns only
// after its points are committed, so an acknowledged report is durable.
//
// Metric lineage: a job's points are appended per attempt; when LeaseJob hands
// the job out again, resuming from its newest checkpoint at step s (or from
// scratch, s = -1), every stored point of the job with step > s is marked
// superseded in the lease's transaction (the new attempt measures those steps
// again). Nothing is deleted; ListMetrics returns the live points unless asked
// for all, so a job's series holds each step (and each epoch) once.
//
// The lifecycle rules (states, triggers, the failure and loss budgets) are
// the table in server/core/job_lifecycle.h; which queued job a worker gets is
// server/core/lease_queue.h; what a submission writes (dedupe) is
// server/core/submit_plan.h. This class locks, plans, commits and notifies.
// Decisions of the facade itself:
//  - Cancelling a running job moves it to cancelled at once and keeps its
//    lease token: the next Heartbeat with that token returns
//    cancel_requested=true; every other call with it gets FAILED_PRECONDITION.
//    Cancelling a cancelled job returns it unchanged; a succeeded or failed
//    one is FAILED_PRECONDITION.
//  - RetryJob and resubmission give a fresh budget of the largest
//    max_attempts of the job's sweeps (resubmission: the new sweep's).
//  - SubmitSweep with a request_id seen before returns that sweep again
//    (replayed) when the spec is the same, FAILED_PRECONDITION otherwise.
//    Submissions are serialised among themselves and planned outside the
//    state mutex, so leases and heartbeats flow while a large one plans.
//  - A submission of more than submit_chunk_jobs new jobs is written in
//    chunks, each its own transaction under the state mutex, so no worker
//    waits behind one long transaction: the first chunk writes the sweep as
//    incomplete, the chunks write the new jobs and their audit entries, the
//    last transaction writes the changes to existing jobs and marks the
//    sweep complete. Only then does anything of it enter memory: until the
//    call returns, the sweep is not listed and none of its jobs is leased or
//    read (ListEvents without a job or sweep filter may already return their
//    "submitted" entries). A chunk that fails is undone (rolled back) and its
//    Status returned; a crash between chunks leaves an incomplete sweep that
//    Create() rolls back, so the submission either happened whole or not at
//    all, and a retry with the same request_id creates it once.
//  - Page sizes and limits out of range are clamped, never refused.
//  - Stale, unknown or superseded tokens get FAILED_PRECONDITION on every
//    worker call; the worker must abandon the job.
//  - Metric reports are stored exactly once per (job, lease, seq): a worker
//    that resends a report whose reply it lost gets OK and nothing is added.
//    Non-finite values (NaN, +-Inf) are stored faithfully (a diverged run is
//    a result); one report's failure never fails another's (the batcher
//    retries a failed group commit one report at a time).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/field_errors.h"
#include "common/mutex.h"
#include "common/status.h"
#include "common/sweep_spec.h"
#include "server/core/change_feed.h"
#include "server/core/clock.h"
#include "server/core/early_stopper.h"
#include "server/core/device_ledger.h"
#include "server/core/job_lifecycle.h"
#include "server/core/lease_queue.h"
#include "server/core/submit_plan.h"
#include "server/core/store.h"
#include "server/core/types.h"

namespace spdlog {
class logger;
}  // namespace spdlog

namespace lcsweep {

struct CoordinatorOptions {
  int64_t lease_ttl_ms = 60'000;           // a lease lives this long after lease/heartbeat
  int64_t heartbeat_interval_ms = 15'000;  // suggested to workers (ttl / 4)
  int keep_checkpoints = 2;                // newest checkpoints kept per job; older ones pruned
  // Final models kept per sweep: those of the keep_models jobs whose models
  // were stored last (a job in several sweeps stays while any keeps it);
  // older ones are pruned when a new one is stored. 0 = keep every model.
  int keep_models = 0;
  int64_t max_metric_points_per_report = 100'000;  // larger reports: INVALID_ARGUMENT
  int64_t max_sweep_jobs = 100'000;        // larger expansions: INVALID_ARGUMENT
  // Lost leases (expired or released) a job may suffer in one budget window
  // before it fails for them; failures of the job itself use max_attempts.
  int max_lost_leases = 20;
  // A submission creating more new jobs than this writes them in chunks of
  // this many, one transaction each, releasing the state mutex in between
  // (see SubmitSweep); 0 writes every submission in one transaction, the
  // slower alternative of tests/bench/server/submit_bench.cc.
  int submit_chunk_jobs = 1000;
  // Tests only: called after each chunk of a chunked submission was
  // committed, without the state mutex (the fault suite crashes there).
  std::function<void()> after_submit_chunk;
};

class MetricBatcher;  // group commit of metric points (coordinator.cc)

class Coordinator {
 public:
  // Loads the state from `store`. Jobs found running keep their leases, each
  // extended to at least one lease period from now (the workers could not
  // heartbeat while the coordinator was down); the reaper requeues them if
  // their workers do not come back in time.
  static StatusOr<std::unique_ptr<Coordinator>> Create(Store* store, Clock* clock,
                                                       CoordinatorOptions options = {});
  // Closes the feed. Destroy it only after every caller (rpc handlers,
  // reaper timer, feed readers) has returned.
  ~Coordinator();
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  // ---- JobService ---------------------------------------------------------

  // Parses and expands the spec (common/sweep_spec.h); INVALID_ARGUMENT with
  // every field error (one per line) when it is malformed. Creates the sweep,
  // its new jobs, links and events in one transaction. dry_run: nothing is
  // stored, ids are 0, outcomes say what a real submission would do.
  // When `field_errors` is given it receives the structured errors of a
  // malformed spec (for the rpc layer's error details).
  StatusOr<SubmitSweepResult> SubmitSweep(const SubmitSweepRequest& request,
                                          std::vector<FieldError>* field_errors = nullptr);
  // NOT_FOUND for an unknown id.
  StatusOr<SweepSummary> GetSweep(int64_t sweep_id) const;
  // All sweeps, ascending id, with job counts per state.
  std::vector<SweepSummary> ListSweeps() const;
  // Newest first, filtered by tag, paginated (INVALID_ARGUMENT for a bad token).
  StatusOr<ListSweepsResult> ListSweeps(const ListSweepsRequest& request) const;
  // Filter by sweep and state, ascending id, paginated. INVALID_ARGUMENT for a
  // bad page token or page size; NOT_FOUND for an unknown sweep.
  StatusOr<ListJobsResult> ListJobs(const ListJobsRequest& request) const;
  StatusOr<JobRecord> GetJob(int64_t job_id) const;
  // queued/running -> cancelled (see above); cancelled: unchanged;
  // succeeded/failed: FAILED_PRECONDITION. Returns the job after the change.
  StatusOr<JobRecord> CancelJob(int64_t job_id, const std::string& reason);
  // Cancels the sweep's queued and running jobs, except jobs that also belong
  // to another sweep that is not cancelled. Marks the sweep cancelled.
  StatusOr<CancelSweepResult> CancelSweep(int64_t sweep_id, const std::string& reason);
  // failed/cancelled -> queued with a fresh attempt budget (see above);
  // other states: FAILED_PRECONDITION.
  StatusOr<JobRecord> RetryJob(int64_t job_id);
  // Aggregated over seeds (mean, std, n per group hash) over the sweep's
  // succeeded jobs; see ResultGroup for how result JSON is flattened.
  // Groups ascending by their first job id. NOT_FOUND for an unknown sweep.
  StatusOr<ResultsSummary> GetResults(int64_t sweep_id) const;
  // The same over explicit jobs (NOT_FOUND if one is unknown).
  StatusOr<ResultsSummary> GetResultsForJobs(const std::vector<int64_t>& job_ids) const;
  // Audit trail, ascending id, filtered (NOT_FOUND for an unknown job or
  // sweep; limit clamped to 1..5000, 0 = 500).
  StatusOr<std::vector<Event>> ListEvents(const ListEventsRequest& request) const;
  // Accounting rows (one per lease: what each attempt used and how it
  // ended), ascending (job_id, lease), after the request's position; limit
  // clamped to 1..5000 (0 = 1000). NOT_FOUND for an unknown job or sweep;
  // INVALID_ARGUMENT without either filter.
  StatusOr<std::vector<AttemptUsage>> ListUsage(const ListUsageRequest& request) const;
  static constexpr int kDefaultUsageLimit = 1000;
  static constexpr int kMaxUsageLimit = 5000;
  // One page of a job's metric points (NOT_FOUND if unknown): its live
  // series (each (name, step) once: the newest report of it), or every
  // stored point with request.include_superseded; ordered by (step, name,
  // arrival), filtered by names and step range, page_size clamped.
  // INVALID_ARGUMENT for a malformed page token.
  StatusOr<ListMetricsResult> ListMetricsPage(const ListMetricsRequest& request) const;
  // Every page of the same, up to request.limit points (for in-process
  // callers such as the dashboard; RPCs page).
  StatusOr<std::vector<MetricPoint>> ListMetrics(const ListMetricsRequest& request) const;
  // Workers with their current jobs, ascending id. Without include_dead only
  // those seen within the last lease_ttl_ms.
  std::vector<WorkerRecord> ListWorkers(bool include_dead = true) const;
  // Newest checkpoint of a job (for DownloadCheckpoint and GetJob), or
  // nullopt. NOT_FOUND for an unknown job.
  StatusOr<std::optional<CheckpointMeta>> LatestCheckpointOfJob(int64_t job_id) const;
  // The stored final model of a succeeded job (GetModel, the dashboard's
  // download). NOT_FOUND for an unknown job and for a succeeded job without
  // a model, FAILED_PRECONDITION for a job that has not succeeded; each
  // message says why there is no model (coordinator_models.cc).
  StatusOr<ModelMeta> ModelOfJob(int64_t job_id) const;
  // The model row of a job (pruned or not), or nullopt; NOT_FOUND for an
  // unknown job. For job views (the dashboard's link).
  StatusOr<std::optional<ModelMeta>> ModelRowOfJob(int64_t job_id) const;

  // ---- WorkerService ------------------------------------------------------

  // A worker with the same (name, host) as a known one gets its id back (its
  // devices/versions are updated); otherwise a new id. INVALID_ARGUMENT for an
  // empty name.
  StatusOr<RegisterWorkerResult> RegisterWorker(const WorkerRecord& worker);
  // Leases the best matching queued job (see "Lease order"), or nullopt when
  // none matches. NOT_FOUND for an unregistered worker id. A request that
  // names its device is matched against at most the free memory the worker
  // last reported for that device less what was leased there since
  // (DeviceLedger); RegisterWorker and Heartbeat devices are such reports.
  StatusOr<std::optional<Lease>> LeaseJob(const LeaseRequest& request);
  // Extends the lease by lease_ttl_ms and stores the progress; for a job
  // cancelled while running returns cancel_requested (and then forgets the
  // token: later calls with it are FAILED_PRECONDITION). A heartbeat that
  // arrives after the expiry time but before the reaper ran still extends the
  // lease: nobody else can hold the job until the reaper requeued it.
  StatusOr<HeartbeatResult> Heartbeat(const HeartbeatRequest& request);
  // Appends metric points (job_id and attempt are taken from the lease;
  // time_ms 0 means now). Returns OK only after they are committed (durable,
  // tested with kill -9); on error none of them is stored and the worker may
  // resend. `seq` numbers the worker's reports within its lease (from 1; 0:
  // no deduplication): a report with a (lease, seq) already stored returns OK
  // and stores nothing. Also updates the job's progress (the last value of each
  // name in progress.metrics, the largest step and epoch reported; in memory,
  // persisted with the next heartbeat). The token is
  // checked before the commit, so a report racing with the job's completion
  // is still stored under its attempt.
  Status ReportMetrics(const std::string& token, std::vector<MetricPoint> points,
                       int64_t seq = 0);
  // Checks that `token` is a live lease and returns its job: the rpc layer
  // calls it before it accepts a checkpoint upload or serves a download.
  StatusOr<JobRecord> ValidateLease(const std::string& token) const;
  // Records checkpoint metadata (job/attempt from the lease, time_ms 0 = now);
  // prunes all but the newest keep_checkpoints of the job and returns the
  // pruned rows so the caller deletes their files.
  StatusOr<RecordCheckpointResult> RecordCheckpoint(const std::string& token, CheckpointMeta meta);
  // Newest checkpoint of the job leased by `token`, or nullopt.
  StatusOr<std::optional<CheckpointMeta>> LatestCheckpoint(const std::string& token) const;
  // Records the final model of the job leased by `token` (job/attempt from
  // the lease, time_ms 0 = now; meta.path is the file the rpc layer stored).
  // Idempotent: when the job already has a live model with the same sha256
  // and size, nothing is written and the stored row comes back with
  // duplicate = true (the caller deletes its new copy, listed in remove).
  // Otherwise the row replaces the job's previous model and keep_models is
  // applied to the job's sweeps; the files to delete come back in remove.
  StatusOr<RecordModelResult> RecordModel(const std::string& token, ModelMeta meta);
  // The three final calls of a lease. `usage`, when given, is the attempt's
  // final measurement, stored in the same transaction as the change (with
  // the heartbeats' figures it replaces; see AttemptUsage).
  //
  // running -> succeeded with the result JSON (must parse as a JSON object,
  // else INVALID_ARGUMENT and the job stays running).
  Status CompleteJob(const std::string& token, const std::string& result_json,
                     const std::optional<ResourceUsage>& usage = std::nullopt);
  // running -> queued (attempt + 1) or failed; returns the job after the change.
  StatusOr<JobRecord> FailJob(const std::string& token, const std::string& error, bool retryable,
                              const std::optional<ResourceUsage>& usage = std::nullopt);
  // running -> queued, attempt unchanged (drain / shutdown of a worker).
  // kOutOfMemory / kDoesNotFit raise the job's memory estimate to at least
  // memory_estimate_gb; the first out-of-memory release of a job costs it an
  // attempt (job_lifecycle.h).
  Status ReleaseJob(const std::string& token, const std::string& reason,
                    ReleaseKind kind = ReleaseKind::kDrain, double memory_estimate_gb = 0,
                    const std::optional<ResourceUsage>& usage = std::nullopt);

  // ---- Maintenance ----------------------------------------------------------

  // Requeues (or fails, when no attempts are left) every running job whose
  // lease expired at the clock's now. Returns the affected job ids. The server
  // calls it on a timer (e.g. every second).
  StatusOr<std::vector<int64_t>> ReapExpiredLeases();

  // ---- Watching ---------------------------------------------------------------

  // A counter that grows with every change of jobs, sweeps, workers or metrics.
  uint64_t Version() const;
  // Every committed change, in commit order, appended after the state mutex
  // was released (server/core/change_feed.h): the one source for long polls,
  // watch streams and the dashboard. Lives as long as the Coordinator.
  ChangeFeed& feed() { return feed_; }
  // Closes the feed: every waiter wakes, later waits return closed at once.
  void Shutdown() { feed_.Close(); }

  const CoordinatorOptions& options() const { return options_; }

 private:
  Coordinator(Store* store, Clock* clock, CoordinatorOptions options);
  Status LoadFromStore();
  // Rehashes `jobs` (loaded under identity rule `from_version`) with the
  // current rule and commits the changed records, the version and an audit
  // event per job of each collision (ids above *max_event_id, which it
  // advances); see server/core/rehash.h.
  Status MigrateHashes(int64_t from_version, std::vector<JobRecord>* jobs, int64_t* max_event_id);

  // FAILED_PRECONDITION for a token whose lease has moved on.
  static Status StaleToken();
  // The "coordinator" logger of the three coordinator*.cc files.
  static std::shared_ptr<spdlog::logger> Log();

  // Submission steps (see SubmitSweep): the earlier sweep of a replayed
  // request_id (nullopt: none); the existing jobs the expansion names and
  // the ids the plan may use; commit of a plan, planned again if stale.
  struct SubmitIds {
    int64_t sweep_id = 0;
    int64_t first_job_id = 0;
  };
  std::optional<StatusOr<SubmitSweepResult>> ReplayLocked(const Sweep& sweep,
                                                         const SubmitSweepRequest& request) const
      LCSWEEP_REQUIRES(mu_);
  DedupeIndex IndexLocked(const Sweep& sweep, SubmitIds* ids) const LCSWEEP_REQUIRES(mu_);
  StatusOr<SubmitSweepResult> CommitPlanLocked(const Sweep& sweep, const SubmitSweepRequest& request,
                                               SubmitPlan plan, std::vector<Change>* notices)
      LCSWEEP_REQUIRES(mu_);
  // An existing job `plan` links may have moved on since it was planned
  // (heartbeat, lease, completion): links each such job again from its
  // current record, so the commit never writes a stale copy. false when that
  // cannot be done because the new jobs would change (a forced submission
  // whose linked job finished meanwhile): plan again from scratch then.
  // `first_job_id` is the plan's first new id.
  bool RelinkLocked(const SubmitSweepRequest& request, int64_t first_job_id, SubmitPlan* plan) const
      LCSWEEP_REQUIRES(mu_);
  // The same in chunks (see "A submission of more than submit_chunk_jobs");
  // takes mu_ for each chunk.
  StatusOr<SubmitSweepResult> CommitPlanInChunks(const Sweep& sweep,
                                                 const SubmitSweepRequest& request, SubmitPlan plan,
                                                 std::vector<Change>* notices)
      LCSWEEP_REQUIRES(submit_mu_) LCSWEEP_EXCLUDES(mu_);
  // Undoes the chunks written of `plan` (best effort: what stays is rolled
  // back by the next Create()) and keeps its ids unused.
  void AbandonChunksLocked(const SubmitPlan& plan) LCSWEEP_REQUIRES(mu_);

  const JobRecord* FindJob(int64_t job_id) const LCSWEEP_REQUIRES(mu_);
  // The running job whose live lease is `token`, or FAILED_PRECONDITION.
  StatusOr<JobRecord> LiveLease(const std::string& token) const LCSWEEP_REQUIRES(mu_);
  // The audit entry of a transition (takes the next event id).
  Event MakeEvent(const Transition& t) LCSWEEP_REQUIRES(mu_);
  // The accounting row of the current lease of `job` (AttemptUsage) with
  // `outcome`, to create it (no flags set) ...
  static UsageWrite UsageOfLease(const JobRecord& job, const std::string& outcome);
  // ... or to store the worker's measurement of it.
  static UsageWrite MeasuredUsage(const JobRecord& job, const ResourceUsage& usage);
  // Adds `t` (its job, its audit entry, and the end of its lease's
  // accounting row when it ends one) to `batch`.
  void AddTransition(const Transition& t, WriteBatch* batch) LCSWEEP_REQUIRES(mu_);
  // Transit(job, trigger), committed and applied; the job after it.
  StatusOr<JobRecord> TransitAndCommit(const JobRecord& job, const Trigger& trigger,
                                       std::vector<Change>* notices) LCSWEEP_REQUIRES(mu_);
  // The same for the job of the live lease `token`, then notifies.
  // `usage`: the lease's final measurement, written first (AttemptUsage).
  StatusOr<JobRecord> TransitLease(const std::string& token, const Trigger& trigger,
                                   const std::optional<ResourceUsage>& usage)
      LCSWEEP_EXCLUDES(mu_);
  // Commits `batch`; only when that succeeded applies it to memory and
  // appends the change notices. Memory is untouched on error.
  Status CommitAndApply(const WriteBatch& batch, std::vector<Change>* notices)
      LCSWEEP_REQUIRES(mu_);
  // The two halves: the commit alone (a commit that stalled everybody
  // extends the running leases by its duration), and the apply of a batch
  // that was committed (by one or several commits).
  Status CommitToStore(const WriteBatch& batch) LCSWEEP_REQUIRES(mu_);
  void Apply(WriteBatch batch, std::vector<Change>* notices) LCSWEEP_REQUIRES(mu_);
  void ApplyJob(JobRecord job, std::vector<Change>* notices) LCSWEEP_REQUIRES(mu_);
  // Step of the job's newest checkpoint (where a new lease resumes), or -1.
  int64_t ResumeStep(int64_t job_id) const LCSWEEP_REQUIRES(mu_);
  // After a metric commit: if the job was leased to a new attempt while the
  // points of `attempt` were being committed, supersedes them as that lease
  // would have (see ReportMetrics).
  void SupersedeLateReport(int64_t job_id, int attempt, size_t leases_before)
      LCSWEEP_REQUIRES(mu_);
  SweepSummary Summarize(const SweepRecord& sweep) const LCSWEEP_REQUIRES(mu_);

  // Early stopping (coordinator_early_stopping.cc; rules in
  // common/early_stopping.h, verdicts in early_stopper.h).
  // A sweep whose spec opted in is watched from when it enters memory.
  void WatchIfOptedIn(const SweepRecord& sweep) LCSWEEP_REQUIRES(mu_);
  // After a restart: the watched metric's stored series of the jobs of
  // watched sweeps that still have work left.
  Status RestoreEarlyStoppingLocked() LCSWEEP_REQUIRES(mu_);
  // After a metric report of `job` was committed: records the watched
  // metric's points and stops the job when the median rule says so.
  void EarlyStopOnReportLocked(const JobRecord& job, const std::vector<MetricPoint>& points,
                               std::vector<Change>* notices) LCSWEEP_REQUIRES(mu_);
  // After `job_id` succeeded: the seeds rule of its sweeps may stop the
  // rest of arms that are worse than the best one.
  void EarlyStopOnSuccess(int64_t job_id) LCSWEEP_EXCLUDES(mu_);
  // The result of a submission replayed by request_id (see SubmitSweep).
  SubmitSweepResult Replay(const SweepRecord& sweep) const LCSWEEP_REQUIRES(mu_);
  Trigger MakeTrigger(Trigger::Kind kind) const;
  std::string NewToken();
  // Without mu_: appends the changes to the feed.
  void Notify(std::vector<Change> notices) LCSWEEP_EXCLUDES(mu_);

  Store* const store_;
  Clock* const clock_;
  const CoordinatorOptions options_;

  // Serialises submissions (only they create sweeps and jobs), so a plan
  // made outside mu_ keeps its ids and its dedupe lookups stay complete.
  // Taken before mu_, never while holding it.
  Mutex submit_mu_ LCSWEEP_ACQUIRED_BEFORE(mu_);
  mutable Mutex mu_;
  uint64_t version_ LCSWEEP_GUARDED_BY(mu_) = 0;
  int64_t next_sweep_id_ LCSWEEP_GUARDED_BY(mu_) = 1;
  int64_t next_job_id_ LCSWEEP_GUARDED_BY(mu_) = 1;
  int64_t next_worker_id_ LCSWEEP_GUARDED_BY(mu_) = 1;
  int64_t next_checkpoint_id_ LCSWEEP_GUARDED_BY(mu_) = 1;
  int64_t next_event_id_ LCSWEEP_GUARDED_BY(mu_) = 1;
  std::map<int64_t, SweepRecord> sweeps_ LCSWEEP_GUARDED_BY(mu_);
  std::map<int64_t, JobRecord> jobs_ LCSWEEP_GUARDED_BY(mu_);
  // sweep -> its job ids
  std::map<int64_t, std::set<int64_t>> sweep_jobs_ LCSWEEP_GUARDED_BY(mu_);
  // config hash -> newest job id
  std::unordered_map<std::string, int64_t> newest_by_hash_ LCSWEEP_GUARDED_BY(mu_);
  // lease token -> job id
  std::unordered_map<std::string, int64_t> job_by_token_ LCSWEEP_GUARDED_BY(mu_);
  // request_id -> sweep id
  std::unordered_map<std::string, int64_t> sweep_by_request_ LCSWEEP_GUARDED_BY(mu_);
  LeaseQueue queue_ LCSWEEP_GUARDED_BY(mu_);
  std::map<int64_t, WorkerRecord> workers_ LCSWEEP_GUARDED_BY(mu_);
  // job -> its checkpoints, ascending id
  std::map<int64_t, std::vector<CheckpointMeta>> checkpoints_ LCSWEEP_GUARDED_BY(mu_);
  // job -> its model row (pruned rows included)
  std::map<int64_t, ModelMeta> models_ LCSWEEP_GUARDED_BY(mu_);
  // job -> the resume step of each lease of it since this process started
  // (only to catch metric reports that race with a re-lease).
  std::map<int64_t, std::vector<int64_t>> lease_resume_steps_ LCSWEEP_GUARDED_BY(mu_);
  // Free device memory reported by workers less what was leased since.
  DeviceLedger device_ledger_ LCSWEEP_GUARDED_BY(mu_);

  EarlyStopper stopper_ LCSWEEP_GUARDED_BY(mu_);

  ChangeFeed feed_;
  std::unique_ptr<MetricBatcher> batcher_;
};

}  // namespace lcsweep
