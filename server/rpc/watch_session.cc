// WatchSession (see watch_session.h).
#include "server/rpc/watch_session.h"

#include <algorithm>
#include <utility>

#include "server/rpc/convert.h"
#include "server/rpc/reply_budget.h"

namespace lcsweep::rpc {
namespace {

// Stored points per WatchResponse when a watch starts (~40 bytes each).
constexpr size_t kMetricBatch = 10'000;
constexpr int kPageSize = 1000;

}  // namespace

WatchSession::WatchSession(Coordinator* coordinator, bool events, bool metrics)
    : coordinator_(coordinator), events_(events), metrics_(metrics) {}

StatusOr<std::unique_ptr<WatchSession>> WatchSession::ForJob(Coordinator* coordinator,
                                                             const v1::WatchJobRequest& request) {
  std::unique_ptr<WatchSession> s(
      new WatchSession(coordinator, request.include_events(), request.include_metrics()));
  s->job_id_ = request.job_id();
  s->cursor_ = coordinator->feed().Cursor();  // before the snapshot
  LCSWEEP_RETURN_IF_ERROR(s->Snapshot(&s->pending_));
  return s;
}

StatusOr<std::unique_ptr<WatchSession>> WatchSession::ForSweep(
    Coordinator* coordinator, const v1::WatchSweepRequest& request) {
  std::unique_ptr<WatchSession> s(
      new WatchSession(coordinator, request.include_events(), request.include_metrics()));
  s->sweep_id_ = request.sweep_id();
  s->cursor_ = coordinator->feed().Cursor();
  LCSWEEP_RETURN_IF_ERROR(s->Snapshot(&s->pending_));
  return s;
}

Status WatchSession::Snapshot(std::deque<v1::WatchResponse>* out) {
  std::vector<int64_t> jobs;
  if (sweep_id_ == 0) {
    LCSWEEP_RETURN_IF_ERROR(coordinator_->GetJob(job_id_).status());
    jobs.push_back(job_id_);
  } else {
    LCSWEEP_RETURN_IF_ERROR(coordinator_->GetSweep(sweep_id_).status());
    ListJobsRequest req;
    req.sweep_id = sweep_id_;
    req.page_size = kPageSize;
    while (true) {
      LCSWEEP_ASSIGN_OR_RETURN(ListJobsResult page, coordinator_->ListJobs(req));
      for (const JobRecord& j : page.jobs) jobs.push_back(j.id);
      if (page.next_page_token.empty()) break;
      req.page_token = page.next_page_token;
    }
  }
  sent_.clear();
  states_.clear();
  for (int64_t id : jobs) {
    members_.insert(id);
    SendJob(id, out);
  }
  if (sweep_id_ == 0) SendHistory(job_id_, out);
  CheckFinished();
  return OkStatus();
}

void WatchSession::SendHistory(int64_t job_id, std::deque<v1::WatchResponse>* out) {
  if (events_) {
    ListEventsRequest er;
    er.job_id = job_id;
    er.limit = 5000;
    StatusOr<std::vector<Event>> events = coordinator_->ListEvents(er);
    if (events.ok()) {
      for (const Event& e : *events) rpc::ToProto(e, out->emplace_back().mutable_event());
    }
  }
  if (metrics_) {
    ListMetricsRequest mr;
    mr.job_id = job_id;
    StatusOr<std::vector<MetricPoint>> points = coordinator_->ListMetrics(mr);
    if (points.ok()) {
      // In batches, so a long history stays under the message size limits.
      for (size_t i = 0; i < points->size(); i += kMetricBatch) {
        v1::MetricBatch* batch = out->emplace_back().mutable_metrics();
        batch->set_job_id(job_id);
        for (size_t k = i; k < std::min(points->size(), i + kMetricBatch); ++k)
          rpc::ToProto((*points)[k], batch->add_points());
      }
    }
  }
}

void WatchSession::SendJob(int64_t job_id, std::deque<v1::WatchResponse>* out) {
  StatusOr<JobRecord> job = coordinator_->GetJob(job_id);
  if (!job.ok()) return;
  if (!states_.count(job_id)) states_[job_id] = job->state;  // the snapshot's
  auto [it, first] = sent_.emplace(job_id, job->version);
  if (!first) {
    if (job->version <= it->second) return;  // a change this stream already showed
    it->second = job->version;
  }
  v1::Job* msg = out->emplace_back().mutable_job();
  rpc::ToProto(*job, msg);
  FitJob(msg);  // shrunk if it alone would pass the reply budget
}

void WatchSession::SendPoints(int64_t job_id, const Change& change,
                              std::deque<v1::WatchResponse>* out) {
  std::vector<MetricPoint> points = change.points;
  if (change.truncated) {
    // The feed kept the last points of a large report: read all of it.
    ListMetricsRequest mr;
    mr.job_id = job_id;
    mr.min_step = change.min_step;
    mr.max_step = change.max_step;
    StatusOr<std::vector<MetricPoint>> stored = coordinator_->ListMetrics(mr);
    if (stored.ok()) points = std::move(stored).value();
  }
  for (size_t i = 0; i < points.size(); i += kMetricBatch) {
    v1::MetricBatch* batch = out->emplace_back().mutable_metrics();
    batch->set_job_id(job_id);
    for (size_t k = i; k < std::min(points.size(), i + kMetricBatch); ++k)
      rpc::ToProto(points[k], batch->add_points());
  }
}

bool WatchSession::Watches(int64_t job_id) const {
  return sweep_id_ == 0 ? job_id == job_id_ : members_.count(job_id) > 0;
}

std::deque<v1::WatchResponse> WatchSession::Next() {
  std::deque<v1::WatchResponse> out;
  out.swap(pending_);
  if (finished_) return out;
  ChangeFeed::Batch batch = coordinator_->feed().Read(cursor_);
  cursor_ = batch.next_cursor;
  if (batch.lost) {
    // Fell behind the ring: start over from the current state.
    if (!Snapshot(&out).ok()) finished_ = true;  // the job or sweep is gone
    return out;
  }
  for (const std::shared_ptr<const Change>& c : batch.changes) {
    switch (c->kind) {
      case Change::Kind::kJob: {
        const bool joins = sweep_id_ != 0 && std::find(c->sweep_ids.begin(), c->sweep_ids.end(),
                                                       sweep_id_) != c->sweep_ids.end();
        if (joins) members_.insert(c->id);
        if (Watches(c->id)) {
          states_[c->id] = c->state;
          SendJob(c->id, &out);
        }
        break;
      }
      case Change::Kind::kEvent:
        if (events_ && c->event.has_value() && Watches(c->id))
          rpc::ToProto(*c->event, out.emplace_back().mutable_event());
        break;
      case Change::Kind::kMetrics:
        if (metrics_ && Watches(c->id)) SendPoints(c->id, *c, &out);
        break;
      case Change::Kind::kSweep:
      case Change::Kind::kWorker:
        break;
    }
  }
  CheckFinished();
  return out;
}

void WatchSession::CheckFinished() {
  // By the states the feed announced (not by reading the jobs now): the
  // audit entries of a transition are published with it, so once the feed
  // showed a job final, its last entries were read too.
  finished_ = true;
  for (const auto& [id, state] : states_) finished_ = finished_ && IsTerminal(state);
}

}  // namespace lcsweep::rpc
