// SqliteStore: reading (see sqlite_store.h): the snapshot the coordinator
// loads at start, and the metric and event queries.
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "server/store/sqlite_store.h"
#include "server/store/sqlite_util.h"

namespace lcsweep {

using namespace sqlite_util;  // NOLINT: the statement helpers of this store

// ---------------------------------------------------------------------------
// Load

StatusOr<StoreSnapshot> SqliteStore::Load() {
  MutexLock lock(&mu_);
  StoreSnapshot snap;
  // One read transaction so the snapshot is consistent.
  LCSWEEP_RETURN_IF_ERROR(ExecLocked("BEGIN"));
  // Runs right here, under mu_ (the analysis cannot see into lambdas).
  auto body = [&]() LCSWEEP_NO_THREAD_SAFETY_ANALYSIS -> Status {
    {
      LCSWEEP_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                               Prepare("SELECT id, name, description, priority, max_attempts, "
                                       "tags_json, spec_json, created_ms, cancelled_ms, "
                                       "request_id, complete FROM sweeps ORDER BY id"));
      StmtScope scope(s);
      int rc;
      while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        SweepRecord r;
        r.id = Int(s, 0);
        r.name = Text(s, 1);
        r.description = Text(s, 2);
        r.priority = static_cast<int>(Int(s, 3));
        r.max_attempts = static_cast<int>(Int(s, 4));
        nlohmann::json tags = ParseOr(Text(s, 5), nlohmann::json::array());
        for (const auto& t : tags)
          if (t.is_string()) r.tags.push_back(t.get<std::string>());
        r.spec_json = Text(s, 6);
        r.created_ms = Int(s, 7);
        r.cancelled_ms = Int(s, 8);
        r.request_id = Text(s, 9);
        r.complete = Int(s, 10) != 0;
        snap.sweeps.push_back(std::move(r));
      }
      if (rc != SQLITE_DONE) return Error(rc, "cannot read sweeps");
    }
    std::unordered_map<int64_t, size_t> job_index;
    {
      LCSWEEP_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                               Prepare(std::string("SELECT ") + kJobColumns +
                                       " FROM jobs ORDER BY id"));
      StmtScope scope(s);
      int rc;
      while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        JobRecord j;
        j.id = Int(s, 0);
        j.config_json = Text(s, 1);
        j.hash = Text(s, 2);
        j.group_hash = Text(s, 3);
        j.axes_json = Text(s, 4);
        auto state = ParseJobState(Text(s, 5));
        if (!state.has_value())
          return DataLossError("job " + std::to_string(j.id) + " has an unknown state \"" +
                               Text(s, 5) + "\"");
        j.state = *state;
        j.priority = static_cast<int>(Int(s, 6));
        j.attempt = static_cast<int>(Int(s, 7));
        j.max_attempts = static_cast<int>(Int(s, 8));
        j.lease_token = Text(s, 9);
        j.lease_owner = Int(s, 10);
        j.lease_expiry_ms = Int(s, 11);
        j.requirements.device = Text(s, 12);
        j.requirements.min_gpu_memory_gb = Real(s, 13);
        j.created_ms = Int(s, 14);
        j.queued_ms = Int(s, 15);
        j.started_ms = Int(s, 16);
        j.finished_ms = Int(s, 17);
        j.updated_ms = Int(s, 18);
        j.error = Text(s, 19);
        j.retryable = Int(s, 20) != 0;
        j.result_json = Text(s, 21);
        j.progress.epoch = Int(s, 22);
        j.progress.step = Int(s, 23);
        nlohmann::json pm = ParseOr(Text(s, 24), nlohmann::json::object());
        for (auto it = pm.begin(); it != pm.end(); ++it)
          if (it->is_number()) j.progress.metrics[it.key()] = it->get<double>();
        j.progress.updated_ms = Int(s, 25);
        j.failures = static_cast<int>(Int(s, 26));
        j.losses = static_cast<int>(Int(s, 27));
        j.leases = Int(s, 28);
        j.requirements.memory_estimate_gb = Real(s, 29);
        j.oom_counted = Int(s, 30) != 0;
        job_index[j.id] = snap.jobs.size();
        snap.jobs.push_back(std::move(j));
      }
      if (rc != SQLITE_DONE) return Error(rc, "cannot read jobs");
    }
    {
      LCSWEEP_ASSIGN_OR_RETURN(
          sqlite3_stmt * s, Prepare("SELECT sweep_id, job_id FROM sweep_jobs ORDER BY job_id, sweep_id"));
      StmtScope scope(s);
      int rc;
      while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        auto it = job_index.find(Int(s, 1));
        if (it != job_index.end()) snap.jobs[it->second].sweep_ids.push_back(Int(s, 0));
      }
      if (rc != SQLITE_DONE) return Error(rc, "cannot read sweep_jobs");
    }
    {
      LCSWEEP_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                               Prepare("SELECT id, name, host, devices_json, cores, slots, "
                                       "versions_json, labels_json, registered_ms, last_seen_ms "
                                       "FROM workers ORDER BY id"));
      StmtScope scope(s);
      int rc;
      while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        WorkerRecord w;
        w.id = Int(s, 0);
        w.name = Text(s, 1);
        w.host = Text(s, 2);
        for (const auto& d : ParseOr(Text(s, 3), nlohmann::json::array())) {
          WorkerDevice dev;
          dev.kind = d.value("kind", "cpu");
          dev.name = d.value("name", "");
          dev.memory_gb = d.value("memory_gb", 0.0);
          dev.free_memory_gb = d.value("free_memory_gb", 0.0);
          w.devices.push_back(dev);
        }
        w.cores = static_cast<int>(Int(s, 4));
        w.slots = static_cast<int>(Int(s, 5));
        nlohmann::json v = ParseOr(Text(s, 6), nlohmann::json::object());
        for (auto it = v.begin(); it != v.end(); ++it)
          if (it->is_string()) w.versions[it.key()] = it->get<std::string>();
        nlohmann::json l = ParseOr(Text(s, 7), nlohmann::json::object());
        for (auto it = l.begin(); it != l.end(); ++it)
          if (it->is_string()) w.labels[it.key()] = it->get<std::string>();
        w.registered_ms = Int(s, 8);
        w.last_seen_ms = Int(s, 9);
        snap.workers.push_back(std::move(w));
      }
      if (rc != SQLITE_DONE) return Error(rc, "cannot read workers");
    }
    {
      LCSWEEP_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                               Prepare("SELECT id, job_id, attempt, epoch, step, sha256, "
                                       "size_bytes, path, time_ms FROM checkpoints ORDER BY id"));
      StmtScope scope(s);
      int rc;
      while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        CheckpointMeta c;
        c.id = Int(s, 0);
        c.job_id = Int(s, 1);
        c.attempt = static_cast<int>(Int(s, 2));
        c.epoch = Int(s, 3);
        c.step = Int(s, 4);
        c.sha256 = Text(s, 5);
        c.size_bytes = Int(s, 6);
        c.path = Text(s, 7);
        c.time_ms = Int(s, 8);
        snap.checkpoints.push_back(std::move(c));
      }
      if (rc != SQLITE_DONE) return Error(rc, "cannot read checkpoints");
    }
    {
      LCSWEEP_ASSIGN_OR_RETURN(sqlite3_stmt * s,
                               Prepare("SELECT job_id, attempt, sha256, size_bytes, path, time_ms, "
                                       "pruned FROM models ORDER BY job_id"));
      StmtScope scope(s);
      int rc;
      while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        ModelMeta m;
        m.job_id = Int(s, 0);
        m.attempt = static_cast<int>(Int(s, 1));
        m.sha256 = Text(s, 2);
        m.size_bytes = Int(s, 3);
        m.path = Text(s, 4);
        m.time_ms = Int(s, 5);
        m.pruned = Int(s, 6) != 0;
        snap.models.push_back(std::move(m));
      }
      if (rc != SQLITE_DONE) return Error(rc, "cannot read models");
    }
    {
      LCSWEEP_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare("SELECT COALESCE(MAX(id), 0) FROM events"));
      StmtScope scope(s);
      int rc = sqlite3_step(s);
      if (rc != SQLITE_ROW) return Error(rc, "cannot read events");
      snap.max_event_id = Int(s, 0);
    }
    {
      // The identity rule of the stored hashes (the config_hash_version migration records it).
      LCSWEEP_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare("SELECT COALESCE(MAX(version), 1) FROM config_hash_version"));
      StmtScope scope(s);
      const int rc = sqlite3_step(s);
      if (rc != SQLITE_ROW) return Error(rc, "cannot read config_hash_version");
      snap.config_hash_version = Int(s, 0);
    }
    return OkStatus();
  };
  Status status = body();
  ExecLocked("COMMIT");
  if (!status.ok()) return status;
  return snap;
}

// ---------------------------------------------------------------------------
// Queries

namespace {

// Metric page tokens: "step:id:name" of the last point of the previous page
// (the order is (step, name, id); the name goes last since it may hold ':').
std::string MetricPageToken(const MetricPoint& p, int64_t id) {
  return std::to_string(p.step) + ":" + std::to_string(id) + ":" + p.name;
}

struct MetricCursor {
  int64_t step = 0;
  int64_t id = 0;
  std::string name;
};

StatusOr<std::optional<MetricCursor>> ParseMetricPageToken(const std::string& token) {
  if (token.empty()) return std::optional<MetricCursor>();
  const size_t a = token.find(':');
  const size_t b = a == std::string::npos ? a : token.find(':', a + 1);
  MetricCursor c;
  try {
    if (b == std::string::npos) throw std::invalid_argument("shape");
    size_t used = 0;
    c.step = std::stoll(token.substr(0, a), &used);
    if (used != a) throw std::invalid_argument("step");
    c.id = std::stoll(token.substr(a + 1, b - a - 1), &used);
    if (used != b - a - 1) throw std::invalid_argument("id");
    c.name = token.substr(b + 1);
  } catch (const std::exception&) {
    return InvalidArgumentError("invalid metrics page_token: pass the next_page_token of the "
                                "previous page unchanged");
  }
  return std::optional<MetricCursor>(c);
}

}  // namespace

StatusOr<ListMetricsResult> SqliteStore::ListMetrics(const ListMetricsRequest& request) {
  LCSWEEP_ASSIGN_OR_RETURN(std::optional<MetricCursor> cursor,
                           ParseMetricPageToken(request.page_token));
  MutexLock lock(&mu_);
  // ?1 job, ?2 attempt, ?3 limit, ?4 min step, ?5 max step, ?6..?8 cursor,
  // ?9.. names. The live series keeps the newest point of each (name, step).
  std::string where = "job_id = ?1 AND step BETWEEN ?4 AND ?5";
  if (request.attempt > 0) where += " AND attempt = ?2";
  if (!request.names.empty()) {
    where += " AND name IN (";
    for (size_t i = 0; i < request.names.size(); ++i)
      where += (i ? ", ?" : "?") + std::to_string(9 + i);
    where += ")";
  }
  std::string sql =
      "SELECT job_id, attempt, step, epoch, name, value, time_ms, superseded, is_nan, id "
      "FROM metrics WHERE " + where;
  // metrics_by_step makes the NOT EXISTS one index probe per row.
  if (!request.include_superseded)
    sql += " AND superseded = 0 AND NOT EXISTS (SELECT 1 FROM metrics AS later WHERE "
           "later.job_id = metrics.job_id AND later.step = metrics.step AND "
           "later.name = metrics.name AND later.superseded = 0 AND later.id > metrics.id)";
  if (cursor.has_value())
    sql += " AND (step > ?6 OR (step = ?6 AND (name > ?8 OR (name = ?8 AND id > ?7))))";
  sql += " ORDER BY step, name, id LIMIT ?3";
  LCSWEEP_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare(sql));
  StmtScope scope(s);
  const int page_size = std::max(1, request.page_size);
  Bind(s, 1, request.job_id);
  if (request.attempt > 0) Bind(s, 2, request.attempt);
  Bind(s, 3, page_size + 1);  // one more tells whether another page follows
  Bind(s, 4, request.min_step);
  Bind(s, 5, request.max_step);
  if (cursor.has_value()) {
    Bind(s, 6, cursor->step);
    Bind(s, 7, cursor->id);
    Bind(s, 8, cursor->name);
  }
  for (size_t i = 0; i < request.names.size(); ++i)
    Bind(s, static_cast<int>(9 + i), request.names[i]);
  ListMetricsResult out;
  int64_t last_id = 0;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (static_cast<int>(out.points.size()) == page_size) {
      out.next_page_token = MetricPageToken(out.points.back(), last_id);
      break;
    }
    MetricPoint p;
    p.job_id = Int(s, 0);
    p.attempt = static_cast<int>(Int(s, 1));
    p.step = Int(s, 2);
    p.epoch = Int(s, 3);
    p.name = Text(s, 4);
    p.value = Int(s, 8) != 0 ? std::numeric_limits<double>::quiet_NaN() : Real(s, 5);
    p.time_ms = Int(s, 6);
    p.superseded = Int(s, 7) != 0;
    last_id = Int(s, 9);
    out.points.push_back(std::move(p));
  }
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return Error(rc, "cannot read metrics");
  return out;
}

StatusOr<std::vector<Event>> SqliteStore::ListEvents(const ListEventsRequest& request) {
  MutexLock lock(&mu_);
  std::string sql =
      "SELECT id, job_id, attempt, from_state, to_state, reason, worker_id, time_ms FROM events "
      "WHERE id > ?1";
  if (request.job_id != 0) sql += " AND job_id = ?2";
  if (request.sweep_id != 0)
    sql += " AND job_id IN (SELECT job_id FROM sweep_jobs WHERE sweep_id = ?3)";
  sql += " ORDER BY id LIMIT ?4";
  LCSWEEP_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare(sql));
  StmtScope scope(s);
  Bind(s, 1, request.after_id);
  if (request.job_id != 0) Bind(s, 2, request.job_id);
  if (request.sweep_id != 0) Bind(s, 3, request.sweep_id);
  Bind(s, 4, request.limit);
  std::vector<Event> out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    Event e;
    e.id = Int(s, 0);
    e.job_id = Int(s, 1);
    e.attempt = static_cast<int>(Int(s, 2));
    e.from_state = Text(s, 3);
    e.to_state = Text(s, 4);
    e.reason = Text(s, 5);
    e.worker_id = Int(s, 6);
    e.time_ms = Int(s, 7);
    out.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) return Error(rc, "cannot read events");
  return out;
}

StatusOr<std::vector<AttemptUsage>> SqliteStore::ListUsage(const ListUsageRequest& request) {
  MutexLock lock(&mu_);
  std::string sql =
      "SELECT job_id, lease, attempt, worker_id, outcome, started_ms, ended_ms, measured, "
      "wall_seconds, cpu_seconds, gpu_seconds, device_kind, device_model, images, "
      "peak_host_bytes, peak_device_bytes, energy_joules, energy_source FROM attempt_usage "
      "WHERE (job_id, lease) > (?1, ?2)";
  if (request.job_id != 0) sql += " AND job_id = ?3";
  if (request.sweep_id != 0)
    sql += " AND job_id IN (SELECT job_id FROM sweep_jobs WHERE sweep_id = ?4)";
  sql += " ORDER BY job_id, lease LIMIT ?5";
  LCSWEEP_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare(sql));
  StmtScope scope(s);
  Bind(s, 1, request.after_job_id);
  Bind(s, 2, request.after_lease);
  if (request.job_id != 0) Bind(s, 3, request.job_id);
  if (request.sweep_id != 0) Bind(s, 4, request.sweep_id);
  Bind(s, 5, request.limit);
  std::vector<AttemptUsage> out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    AttemptUsage r;
    r.job_id = Int(s, 0);
    r.lease = Int(s, 1);
    r.attempt = static_cast<int>(Int(s, 2));
    r.worker_id = Int(s, 3);
    r.outcome = Text(s, 4);
    r.started_ms = Int(s, 5);
    r.ended_ms = Int(s, 6);
    r.measured = Int(s, 7) != 0;
    ResourceUsage& m = r.usage;
    m.wall_seconds = Real(s, 8);
    m.cpu_seconds = Real(s, 9);
    m.gpu_seconds = Real(s, 10);
    m.device_kind = Text(s, 11);
    m.device_model = Text(s, 12);
    m.images = Int(s, 13);
    m.peak_host_bytes = Int(s, 14);
    m.peak_device_bytes = Int(s, 15);
    m.energy_joules = Real(s, 16);
    m.energy_source = Text(s, 17);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return Error(rc, "cannot read attempt usage");
  return out;
}

}  // namespace lcsweep
