#include "server/rpc/convert.h"

#include <map>

#include "proto/convert.h"

namespace lcsweep::rpc {

v1::JobState ToProto(JobState state) {
  switch (state) {
    case JobState::kQueued: return v1::JOB_STATE_QUEUED;
    case JobState::kRunning: return v1::JOB_STATE_RUNNING;
    case JobState::kSucceeded: return v1::JOB_STATE_SUCCEEDED;
    case JobState::kFailed: return v1::JOB_STATE_FAILED;
    case JobState::kCancelled: return v1::JOB_STATE_CANCELLED;
    case JobState::kStopped: return v1::JOB_STATE_STOPPED;
  }
  return v1::JOB_STATE_UNSPECIFIED;
}

std::optional<JobState> FromProto(v1::JobState state) {
  switch (state) {
    case v1::JOB_STATE_QUEUED: return JobState::kQueued;
    case v1::JOB_STATE_RUNNING: return JobState::kRunning;
    case v1::JOB_STATE_SUCCEEDED: return JobState::kSucceeded;
    case v1::JOB_STATE_FAILED: return JobState::kFailed;
    case v1::JOB_STATE_CANCELLED: return JobState::kCancelled;
    case v1::JOB_STATE_STOPPED: return JobState::kStopped;
    default: return std::nullopt;
  }
}

v1::JobState StateFromName(const std::string& name) {
  std::optional<JobState> s = ParseJobState(name);
  return s ? ToProto(*s) : v1::JOB_STATE_UNSPECIFIED;
}

v1::SubmitOutcome ToProto(SubmitOutcome outcome) {
  switch (outcome) {
    case SubmitOutcome::kCreated: return v1::SUBMIT_OUTCOME_CREATED;
    case SubmitOutcome::kReused: return v1::SUBMIT_OUTCOME_REUSED;
    case SubmitOutcome::kReusedResult: return v1::SUBMIT_OUTCOME_REUSED_RESULT;
    case SubmitOutcome::kRequeued: return v1::SUBMIT_OUTCOME_REQUEUED;
    case SubmitOutcome::kForced: return v1::SUBMIT_OUTCOME_FORCED;
  }
  return v1::SUBMIT_OUTCOME_UNSPECIFIED;
}

void ToProto(const JobProgress& progress, v1::Progress* out) {
  out->set_epoch(progress.epoch);
  out->set_step(progress.step);
  for (const auto& [name, value] : progress.metrics) (*out->mutable_metrics())[name] = value;
  out->set_updated_at_ms(progress.updated_ms);
}

JobProgress FromProto(const v1::Progress& progress) {
  JobProgress p;
  p.epoch = progress.epoch();
  p.step = progress.step();
  for (const auto& [name, value] : progress.metrics()) p.metrics[name] = value;
  p.updated_ms = progress.updated_at_ms();
  return p;
}

void ToProto(const JobRecord& job, v1::Job* out) {
  out->set_id(job.id);
  for (int64_t s : job.sweep_ids) out->add_sweep_ids(s);
  out->set_config_json(job.config_json);
  out->set_config_hash(job.hash);
  out->set_group_hash(job.group_hash);
  out->set_axes_json(job.axes_json);
  *out->mutable_summary() = SummaryFromConfigJson(job.config_json);
  out->set_state(ToProto(job.state));
  out->set_priority(job.priority);
  out->set_attempt(job.attempt);
  out->set_max_attempts(job.max_attempts);
  out->set_failures(job.failures);
  out->set_losses(job.losses);
  out->set_worker_id(job.lease_owner);
  out->set_lease_expires_at_ms(job.state == JobState::kRunning ? job.lease_expiry_ms : 0);
  out->set_created_at_ms(job.created_ms);
  out->set_queued_at_ms(job.queued_ms);
  out->set_started_at_ms(job.started_ms);
  out->set_finished_at_ms(job.finished_ms);
  out->set_updated_at_ms(job.updated_ms);
  out->set_error(job.error);
  out->set_retryable(job.retryable);
  out->set_result_json(job.result_json);
  ToProto(job.progress, out->mutable_progress());
}

JobRecord FromProto(const v1::Job& job) {
  JobRecord r;
  r.id = job.id();
  r.sweep_ids.assign(job.sweep_ids().begin(), job.sweep_ids().end());
  r.config_json = job.config_json();
  r.hash = job.config_hash();
  r.group_hash = job.group_hash();
  r.axes_json = job.axes_json();
  r.state = FromProto(job.state()).value_or(JobState::kQueued);
  r.priority = job.priority();
  r.attempt = job.attempt();
  r.max_attempts = job.max_attempts();
  r.lease_owner = job.worker_id();
  r.lease_expiry_ms = job.lease_expires_at_ms();
  r.created_ms = job.created_at_ms();
  r.queued_ms = job.queued_at_ms();
  r.started_ms = job.started_at_ms();
  r.finished_ms = job.finished_at_ms();
  r.updated_ms = job.updated_at_ms();
  r.error = job.error();
  r.retryable = job.retryable();
  r.result_json = job.result_json();
  r.progress = FromProto(job.progress());
  r.requirements.device = job.summary().device().empty() ? "any" : job.summary().device();
  r.requirements.min_gpu_memory_gb = job.summary().min_gpu_memory_gb();
  return r;
}

void ToProto(const SweepSummary& s, v1::Sweep* out) {
  const SweepRecord& sw = s.sweep;
  out->set_id(sw.id);
  out->set_name(sw.name);
  out->set_description(sw.description);
  out->set_spec_json(sw.spec_json);
  out->set_priority(sw.priority);
  out->set_max_attempts(sw.max_attempts);
  for (const auto& t : sw.tags) out->add_tags(t);
  out->set_created_at_ms(sw.created_ms);
  out->set_cancelled_at_ms(sw.cancelled_ms);
  v1::JobCounts* c = out->mutable_counts();
  c->set_queued(s.counts[static_cast<int>(JobState::kQueued)]);
  c->set_running(s.counts[static_cast<int>(JobState::kRunning)]);
  c->set_succeeded(s.counts[static_cast<int>(JobState::kSucceeded)]);
  c->set_failed(s.counts[static_cast<int>(JobState::kFailed)]);
  c->set_cancelled(s.counts[static_cast<int>(JobState::kCancelled)]);
  c->set_stopped(s.counts[static_cast<int>(JobState::kStopped)]);
  c->set_total(s.total_jobs);
}

void ToProto(const WorkerDevice& d, v1::Device* out) {
  out->set_kind(d.kind);
  out->set_name(d.name);
  out->set_memory_gb(d.memory_gb);
  out->set_free_memory_gb(d.free_memory_gb);
}

WorkerDevice FromProto(const v1::Device& d) {
  WorkerDevice w;
  w.kind = d.kind().empty() ? "cpu" : d.kind();
  w.name = d.name();
  w.memory_gb = d.memory_gb();
  w.free_memory_gb = d.free_memory_gb();
  return w;
}

void ToProto(const WorkerRecord& w, int64_t now_ms, int64_t lease_ttl_ms, v1::Worker* out) {
  out->set_id(w.id);
  out->set_name(w.name);
  out->set_hostname(w.host);
  for (const auto& d : w.devices) ToProto(d, out->add_devices());
  out->set_cores(w.cores);
  out->set_slots(w.slots);
  for (const auto& [k, v] : w.versions) (*out->mutable_versions())[k] = v;
  out->set_registered_at_ms(w.registered_ms);
  out->set_last_seen_at_ms(w.last_seen_ms);
  for (int64_t j : w.current_jobs) out->add_job_ids(j);
  out->set_alive(now_ms - w.last_seen_ms <= lease_ttl_ms);
  for (const auto& [k, v] : w.labels) (*out->mutable_labels())[k] = v;
}

WorkerRecord FromProto(const v1::RegisterWorkerRequest& r) {
  WorkerRecord w;
  w.name = r.name();
  w.host = r.hostname();
  for (const auto& d : r.devices()) w.devices.push_back(FromProto(d));
  w.cores = r.cores();
  w.slots = r.slots() > 0 ? r.slots() : 1;
  for (const auto& [k, v] : r.versions()) w.versions[k] = v;
  for (const auto& [k, v] : r.labels()) w.labels[k] = v;
  return w;
}

void ToProto(const MetricPoint& p, v1::MetricPoint* out) {
  out->set_name(p.name);
  out->set_value(p.value);
  out->set_step(p.step);
  out->set_epoch(p.epoch);
  out->set_time_ms(p.time_ms);
  out->set_attempt(p.attempt);
  out->set_superseded(p.superseded);
}

MetricPoint FromProto(const v1::MetricPoint& p, int64_t job_id) {
  MetricPoint m;
  m.job_id = job_id;
  m.attempt = p.attempt();
  m.step = p.step();
  m.epoch = p.epoch();
  m.name = p.name();
  m.value = p.value();
  m.time_ms = p.time_ms();
  return m;
}

void ToProto(const Event& e, v1::Event* out) {
  out->set_id(e.id);
  out->set_time_ms(e.time_ms);
  out->set_job_id(e.job_id);
  out->set_attempt(e.attempt);
  out->set_from_state(StateFromName(e.from_state));
  out->set_to_state(StateFromName(e.to_state));
  out->set_reason(e.reason);
  out->set_worker_id(e.worker_id);
}

Event FromProto(const v1::Event& e) {
  Event r;
  r.id = e.id();
  r.time_ms = e.time_ms();
  r.job_id = e.job_id();
  r.attempt = e.attempt();
  r.from_state = JobStateName(e.from_state());
  r.to_state = JobStateName(e.to_state());
  r.reason = e.reason();
  r.worker_id = e.worker_id();
  return r;
}

void ToProto(const CheckpointMeta& m, v1::Checkpoint* out) {
  out->set_id(m.id);
  out->set_job_id(m.job_id);
  out->set_attempt(m.attempt);
  out->set_epoch(m.epoch);
  out->set_step(m.step);
  out->set_size_bytes(m.size_bytes);
  out->set_sha256(m.sha256);
  out->set_created_at_ms(m.time_ms);
}

void ToProto(const AttemptUsage& a, v1::AttemptUsage* out) {
  out->set_job_id(a.job_id);
  out->set_lease(a.lease);
  out->set_attempt(a.attempt);
  out->set_worker_id(a.worker_id);
  out->set_outcome(a.outcome);
  out->set_started_at_ms(a.started_ms);
  out->set_ended_at_ms(a.ended_ms);
  out->set_measured(a.measured);
  lcsweep::ToProto(a.usage, out->mutable_usage());
}

AttemptUsage FromProto(const v1::AttemptUsage& p) {
  AttemptUsage a;
  a.job_id = p.job_id();
  a.lease = p.lease();
  a.attempt = p.attempt();
  a.worker_id = p.worker_id();
  a.outcome = p.outcome();
  a.started_ms = p.started_at_ms();
  a.ended_ms = p.ended_at_ms();
  a.measured = p.measured();
  a.usage = lcsweep::FromProto(p.usage());
  return a;
}

void ToProto(const ModelMeta& m, v1::Model* out) {
  out->set_job_id(m.job_id);
  out->set_attempt(m.attempt);
  out->set_size_bytes(m.size_bytes);
  out->set_sha256(m.sha256);
  out->set_created_at_ms(m.time_ms);
}

CheckpointMeta FromProto(const v1::Checkpoint& c) {
  CheckpointMeta m;
  m.id = c.id();
  m.job_id = c.job_id();
  m.attempt = c.attempt();
  m.epoch = c.epoch();
  m.step = c.step();
  m.size_bytes = c.size_bytes();
  m.sha256 = c.sha256();
  m.time_ms = c.created_at_ms();
  return m;
}

void ToProto(const ResultGroup& g, v1::ResultGroup* out) {
  out->set_group_hash(g.group_hash);
  out->set_axes_json(g.axes_json);
  for (int64_t j : g.job_ids) out->add_job_ids(j);
  for (int64_t s : g.seeds) out->add_seeds(s);
  out->set_n_succeeded(g.n_succeeded);
  for (const auto& [name, f] : g.figures) {
    v1::MetricStat& st = (*out->mutable_figures())[name];
    st.set_mean(f.mean);
    st.set_std(f.std);
    st.set_n(f.n);
  }
}

ResultGroup FromProto(const v1::ResultGroup& g) {
  ResultGroup r;
  r.group_hash = g.group_hash();
  r.axes_json = g.axes_json();
  r.job_ids.assign(g.job_ids().begin(), g.job_ids().end());
  r.seeds.assign(g.seeds().begin(), g.seeds().end());
  r.n_succeeded = g.n_succeeded();
  for (const auto& [name, st] : g.figures()) r.figures[name] = FigureStats{st.mean(), st.std(), st.n()};
  return r;
}

void ToProto(const Lease& lease, v1::Lease* out) {
  ToProto(lease.job, out->mutable_job());
  out->set_lease_token(lease.token);
  out->set_lease_expires_at_ms(lease.expiry_ms);
  out->set_heartbeat_interval_ms(lease.heartbeat_interval_ms);
  if (lease.checkpoint) ToProto(*lease.checkpoint, out->mutable_resume_from());
  out->set_memory_estimate_gb(lease.job.requirements.memory_estimate_gb);
}

LeaseRequest FromProto(const v1::LeaseJobRequest& r) {
  LeaseRequest l;
  l.worker_id = r.worker_id();
  l.has_cpu = r.has_cpu();
  l.has_cuda = r.has_cuda();
  l.free_gpu_memory_gb = r.free_gpu_memory_gb();
  l.device = r.device();
  return l;
}

void ToSeries(int64_t job_id, const std::vector<MetricPoint>& points, v1::GetMetricsResponse* out) {
  std::map<std::string, v1::MetricSeries> by_name;
  for (const MetricPoint& p : points) {
    v1::MetricSeries& s = by_name[p.name];
    s.set_job_id(job_id);
    s.set_name(p.name);
    ToProto(p, s.add_points());
  }
  for (auto& [name, s] : by_name) *out->add_series() = std::move(s);
}

}  // namespace lcsweep::rpc
