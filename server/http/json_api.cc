#include "server/http/json_api.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include <spdlog/spdlog.h>

#include "common/logging.h"
#include "server/core/results.h"
#include "server/http/downsample.h"
#include "server/http/published.h"

namespace lcsweep {
namespace {

using json = nlohmann::json;

// Config fields every job row carries (besides its swept axes), so that
// tables, filters and plots can use them even when a sweep does not vary them.
const char* const kSummaryPaths[] = {
    "seed", "data.name", "model.arch", "model.depth", "model.width", "model.kernel_size",
    "model.conv.mode", "model.conv.lc_rate", "model.conv.spatial", "model.conv.init",
    "model.conv.sharing", "model.conv.intermediate", "train.epochs", "resources.device"};

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 1000;
constexpr int kDefaultMaxPoints = 1000;

json::json_pointer Pointer(const std::string& dotted) {
  std::string p;
  std::stringstream ss(dotted);
  std::string part;
  while (std::getline(ss, part, '.')) p += "/" + part;
  return json::json_pointer(p);
}

std::optional<int64_t> ParseInt(const std::string& s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  int64_t v = 0;
  size_t i = 0;
  bool neg = false;
  if (s[0] == '-') {
    neg = true;
    i = 1;
    if (s.size() == 1) return std::nullopt;
  }
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return neg ? -v : v;
}

std::vector<std::string> SplitList(const std::string& s, char sep = ',') {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string part;
  while (std::getline(ss, part, sep)) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A JSON scalar as plain text (strings without quotes).
std::string Text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

std::optional<double> ParamDouble(const ApiRequest& r, const std::string& key) {
  auto it = r.query.find(key);
  if (it == r.query.end() || it->second.empty()) return std::nullopt;
  try {
    size_t used = 0;
    double v = std::stod(it->second, &used);
    if (used != it->second.size()) return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string Param(const ApiRequest& r, const std::string& key, const std::string& dflt = "") {
  auto it = r.query.find(key);
  return it == r.query.end() ? dflt : it->second;
}

// Exact pooled mean and sample std of groups of samples given as (mean, std, n).
FigureStats Pool(const std::vector<FigureStats>& parts) {
  FigureStats out;
  double sum = 0;
  for (const auto& p : parts) {
    out.n += p.n;
    sum += p.mean * static_cast<double>(p.n);
  }
  if (out.n == 0) return out;
  out.mean = sum / static_cast<double>(out.n);
  double m2 = 0;
  for (const auto& p : parts) {
    const double d = p.mean - out.mean;
    m2 += p.std * p.std * static_cast<double>(p.n - 1 > 0 ? p.n - 1 : 0) + static_cast<double>(p.n) * d * d;
  }
  out.std = out.n > 1 ? std::sqrt(m2 / static_cast<double>(out.n - 1)) : 0;
  return out;
}

json StatsJson(const FigureStats& s) {
  const double se = s.n > 1 ? s.std / std::sqrt(static_cast<double>(s.n)) : 0;
  return json{{"mean", s.mean}, {"std", s.std}, {"stderr", se}, {"n", s.n}};
}

bool AccuracyLike(const std::string& metric) {
  const std::string m = Lower(metric);
  return m.find("acc") != std::string::npos || m.find("top1") != std::string::npos;
}

// The metric to show when none is asked for: the clean test accuracy if present.
std::string DefaultMetric(const std::set<std::string>& names) {
  static const char* const kPreferred[] = {"evaluation.clean.accuracy", "clean.accuracy", "test.accuracy", "clean.acc",
                                           "test.acc", "accuracy", "eval.clean.accuracy"};
  for (const char* p : kPreferred) {
    if (names.count(p)) return p;
  }
  for (const auto& n : names) {
    if (AccuracyLike(n) && n.find('[') == std::string::npos) return n;
  }
  return names.empty() ? "" : *names.begin();
}

// Orders JSON scalars: numbers numerically, then strings, then the rest.
bool JsonLess(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) return a.get<double>() < b.get<double>();
  if (a.is_number() != b.is_number()) return a.is_number();
  if (a.is_null() != b.is_null()) return !a.is_null();
  return Text(a) < Text(b);
}

}  // namespace

int HttpStatusFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange: return 400;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kAborted: return 409;
    case StatusCode::kResourceExhausted: return 507;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kUnimplemented: return 501;
    case StatusCode::kDeadlineExceeded: return 504;
    default: return 500;
  }
}

ApiResponse ErrorResponse(int http_status, const std::string& error, const std::string& hint) {
  return ApiResponse{http_status, json{{"error", error}, {"hint", hint}}};
}

namespace {

ApiResponse FromStatus(const Status& s, const std::string& hint) {
  return ErrorResponse(HttpStatusFor(s), s.message(), hint);
}

std::string VariantOf(const json& summary) {
  const std::string mode = summary.value("model.conv.mode", "lc");
  if (mode == "lc") return "LC " + summary.value("model.conv.spatial", "frozen");
  return "plain " + mode;
}

}  // namespace

// ---------------------------------------------------------------------------

JsonApi::JsonApi(Coordinator* coordinator) : coordinator_(coordinator) {
  listener_id_ = coordinator_->AddListener([this](const ChangeNotice& n) { OnChange(n); });
}

JsonApi::~JsonApi() { coordinator_->RemoveListener(listener_id_); }

void JsonApi::OnChange(const ChangeNotice& notice) {
  if (notice.kind != ChangeNotice::Kind::kJob && notice.kind != ChangeNotice::Kind::kMetrics) return;
  std::lock_guard<std::mutex> lock(mu_);
  dirty_.insert(notice.id);
}

const double* JsonApi::JobRow::Figure(uint32_t id) const {
  auto it = std::lower_bound(figure_ids.begin(), figure_ids.end(), id);
  if (it == figure_ids.end() || *it != id) return nullptr;
  return &figure_values[static_cast<size_t>(it - figure_ids.begin())];
}

uint32_t JsonApi::FigureId(const std::string& name) const {
  auto it = figure_ids_.find(name);
  return it == figure_ids_.end() ? kNoFigure : it->second;
}

uint32_t JsonApi::InternFigure(const std::string& name) {
  auto [it, added] = figure_ids_.emplace(name, static_cast<uint32_t>(figure_names_.size()));
  if (added) figure_names_.push_back(name);
  return it->second;
}

JsonApi::JobRow JsonApi::MakeRow(const JobRecord& job) {
  JobRow row;
  row.id = job.id;
  row.version = job.version;
  row.state = job.state;
  row.attempt = job.attempt;
  row.max_attempts = job.max_attempts;
  row.priority = job.priority;
  row.worker_id = job.lease_owner;
  row.sweep_ids = job.sweep_ids;
  row.created_ms = job.created_ms;
  row.started_ms = job.started_ms;
  row.finished_ms = job.finished_ms;
  row.updated_ms = job.updated_ms;
  row.error = job.error;
  row.progress = job.progress;
  row.group_hash = job.group_hash;
  row.axes = json::parse(job.axes_json.empty() ? "{}" : job.axes_json, nullptr, false);
  if (!row.axes.is_object()) row.axes = json::object();
  auto cached = job.group_hash.empty() ? summaries_.end() : summaries_.find(job.group_hash);
  const bool need_seed = !row.axes.contains("seed");
  if (cached != summaries_.end() && !need_seed) {
    row.summary = cached->second;
  } else {
    json summary = json::object();
    json config = json::parse(job.config_json, nullptr, false);
    if (config.is_object()) {
      for (const char* path : kSummaryPaths) {
        const auto ptr = Pointer(path);
        if (config.contains(ptr)) summary[path] = config.at(ptr);
      }
    }
    if (summary.contains("seed")) {
      if (need_seed) row.axes["seed"] = summary["seed"];
      summary.erase("seed");
    }
    summary["variant"] = VariantOf(summary);
    if (cached != summaries_.end()) {
      row.summary = cached->second;
    } else {
      row.summary = std::make_shared<const json>(std::move(summary));
      if (!job.group_hash.empty()) summaries_[job.group_hash] = row.summary;
    }
  }
  if (job.state == JobState::kSucceeded && !job.result_json.empty()) {
    json result = json::parse(job.result_json, nullptr, false);
    if (result.is_object()) {
      // The copy of the config and the per-epoch history are not figures to
      // aggregate (the config is the axes; the history is in the metric series).
      result.erase("job");
      result.erase("history");
      std::vector<std::pair<uint32_t, double>> figures;
      for (const auto& [name, v] : FlattenResult(result)) figures.emplace_back(InternFigure(name), v);
      std::sort(figures.begin(), figures.end());
      row.figure_ids.reserve(figures.size());
      row.figure_values.reserve(figures.size());
      for (const auto& [id, v] : figures) {
        row.figure_ids.push_back(id);
        row.figure_values.push_back(v);
      }
    }
  }
  return row;
}

void JsonApi::WarmUp() {
  std::lock_guard<std::mutex> lock(mu_);
  SyncLocked();
}

void JsonApi::SyncLocked() {
  if (all_dirty_) {
    // Cursor pagination over every job; notices that arrive meanwhile are
    // re-read below, so nothing is missed.
    dirty_.clear();
    rows_.clear();
    ListJobsRequest req;
    req.page_size = kMaxPageSize;
    while (true) {
      auto page = coordinator_->ListJobs(req);
      if (!page.ok()) {
        GetLogger("http")->error("event=list_jobs_failed error=\"{}\"", page.status().ToString());
        return;
      }
      for (const auto& job : page->jobs) rows_[job.id] = MakeRow(job);
      if (page->next_page_token.empty()) break;
      req.page_token = page->next_page_token;
    }
    all_dirty_ = false;
  }
  std::set<int64_t> dirty;
  dirty.swap(dirty_);
  for (int64_t id : dirty) {
    auto job = coordinator_->GetJob(id);
    auto it = rows_.find(id);
    if (!job.ok()) {
      if (it != rows_.end()) rows_.erase(it);
      continue;
    }
    if (it != rows_.end() && it->second.version == job->version && job->version != 0) continue;
    rows_[id] = MakeRow(*job);
  }
}

std::vector<const JsonApi::JobRow*> JsonApi::SweepRowsLocked(int64_t sweep_id) const {
  std::vector<const JobRow*> out;
  for (const auto& [id, row] : rows_) {
    if (std::find(row.sweep_ids.begin(), row.sweep_ids.end(), sweep_id) != row.sweep_ids.end()) {
      out.push_back(&row);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------

ApiResponse JsonApi::Handle(const ApiRequest& request) {
  static const std::string kPrefix = "/api/v1";
  if (request.path.compare(0, kPrefix.size(), kPrefix) != 0) {
    return ErrorResponse(404, "no such API path: " + request.path, "API paths start with /api/v1/");
  }
  std::vector<std::string> parts = SplitList(request.path.substr(kPrefix.size()), '/');
  const bool get = request.method == "GET" || request.method == "HEAD";
  const bool post = request.method == "POST";
  auto bad_method = [&] {
    return ErrorResponse(405, request.method + " is not allowed on " + request.path,
                         "reads use GET; cancel and retry use POST");
  };
  auto id_of = [&](const std::string& s, std::optional<int64_t>* out) -> std::optional<ApiResponse> {
    *out = ParseInt(s);
    if (!*out || **out <= 0) {
      return ErrorResponse(400, "'" + s + "' is not a valid id", "ids are positive integers, e.g. /api/v1/jobs/12");
    }
    return std::nullopt;
  };
  try {
    if (parts.empty()) {
      return ApiResponse{200, json{{"api", "lcsweep dashboard"}, {"version", 1}}};
    }
    const std::string& top = parts[0];
    if (top == "whoami" && parts.size() == 1) {
      if (request.token_presented && request.role.empty()) {
        return ErrorResponse(401, "the bearer token is not known to this coordinator",
                             "check the token against the coordinator's tokens file, or forget it in the page");
      }
      return ApiResponse{200, json{{"role", request.role.empty() ? "anonymous" : request.role},
                                   {"can_mutate", CanMutate(request.role)}}};
    }
    if (top == "workers" && parts.size() == 1) return get ? Workers() : bad_method();
    if (top == "sweeps") {
      if (parts.size() == 1) return get ? ListSweeps() : bad_method();
      std::optional<int64_t> id;
      if (auto err = id_of(parts[1], &id)) return *err;
      if (parts.size() == 2) return get ? GetSweep(*id) : bad_method();
      if (parts.size() == 3) {
        if (parts[2] == "jobs") return get ? ListJobs(*id, request) : bad_method();
        if (parts[2] == "results") return get ? Results(*id, request) : bad_method();
        if (parts[2] == "ablation") return get ? Ablation(*id, request) : bad_method();
        if (parts[2] == "cancel") return post ? CancelSweep(*id, request) : bad_method();
      }
    }
    if (top == "jobs" && parts.size() >= 2) {
      std::optional<int64_t> id;
      if (auto err = id_of(parts[1], &id)) return *err;
      if (parts.size() == 2) return get ? GetJob(*id) : bad_method();
      if (parts.size() == 3) {
        if (parts[2] == "metrics") return get ? Metrics(*id, request) : bad_method();
        if (parts[2] == "events") return get ? Events(*id) : bad_method();
        if (parts[2] == "cancel" || parts[2] == "retry") {
          return post ? MutateJob(*id, parts[2], request) : bad_method();
        }
      }
    }
  } catch (const json::exception& e) {
    return ErrorResponse(500, std::string("JSON error: ") + e.what(), "this is a bug in the dashboard API; please report it");
  }
  return ErrorResponse(404, "no such API path: " + request.path,
                       "see server/http/json_api.h for the routes, e.g. /api/v1/sweeps");
}

// ---------------------------------------------------------------------------

namespace {

json SweepJson(const SweepSummary& s) {
  json counts = json::object();
  for (int i = 0; i < kNumJobStates; ++i) counts[JobStateName(static_cast<JobState>(i))] = s.counts[i];
  counts["total"] = s.total_jobs;
  return json{{"id", s.sweep.id},
              {"name", s.sweep.name},
              {"description", s.sweep.description},
              {"priority", s.sweep.priority},
              {"max_attempts", s.sweep.max_attempts},
              {"tags", s.sweep.tags},
              {"created_ms", s.sweep.created_ms},
              {"cancelled_ms", s.sweep.cancelled_ms},
              {"counts", counts}};
}

}  // namespace

ApiResponse JsonApi::ListSweeps() {
  json out = json::array();
  for (const auto& s : coordinator_->ListSweeps()) out.push_back(SweepJson(s));
  return ApiResponse{200, json{{"sweeps", out}}};
}

ApiResponse JsonApi::GetSweep(int64_t id) {
  auto sweep = coordinator_->GetSweep(id);
  if (!sweep.ok()) return FromStatus(sweep.status(), "list the sweeps with GET /api/v1/sweeps");
  json out = SweepJson(*sweep);
  out["spec"] = json::parse(sweep->sweep.spec_json, nullptr, false);
  if (out["spec"].is_discarded()) out["spec"] = sweep->sweep.spec_json;

  std::lock_guard<std::mutex> lock(mu_);
  SyncLocked();
  // Axis path -> distinct values over the sweep's jobs (keyed by their JSON text).
  std::map<std::string, std::map<std::string, json>> axes;
  auto add = [&](const std::string& path, const json& v) { axes[path].emplace(v.dump(), v); };
  std::vector<bool> figure_seen(figure_names_.size(), false);
  std::set<std::string> progress_names;
  for (const JobRow* row : SweepRowsLocked(id)) {
    for (auto it = row->axes.begin(); it != row->axes.end(); ++it) add(it.key(), it.value());
    add("variant", (*row->summary)["variant"]);
    for (uint32_t f : row->figure_ids) figure_seen[f] = true;
    for (const auto& [name, v] : row->progress.metrics) progress_names.insert("last:" + name);
  }
  json axes_json = json::array();
  for (auto& [path, distinct] : axes) {
    if (path == "variant" && distinct.size() < 2) continue;
    std::vector<json> vals;
    for (auto& [text, v] : distinct) vals.push_back(v);
    std::sort(vals.begin(), vals.end(), JsonLess);
    axes_json.push_back(json{{"path", path}, {"values", vals}});
  }
  out["axes"] = axes_json;
  // Figures of the succeeded jobs (what the ablation plot and pivot can show).
  std::set<std::string> figures;
  for (size_t f = 0; f < figure_seen.size(); ++f) {
    if (figure_seen[f]) figures.insert(figure_names_[f]);
  }
  // The job table's metric column: the figures outside arrays, then the last
  // reported value of each metric series.
  json job_metrics = json::array();
  for (const auto& f : figures) {
    if (f.find('[') == std::string::npos) job_metrics.push_back(f);
  }
  for (const auto& n : progress_names) job_metrics.push_back(n);
  out["figures"] = figures;
  out["default_metric"] = DefaultMetric(figures);
  out["job_metrics"] = job_metrics;
  return ApiResponse{200, out};
}

namespace {

json RowValue(const json& axes, const json& summary, const std::string& path) {
  if (axes.contains(path)) return axes[path];
  if (summary.contains(path)) return summary[path];
  return nullptr;
}

// One term of the job table filter.
struct FilterTerm {
  std::string key;   // "" = free text
  std::string op;    // "=", "!=", "<", "<=", ">", ">="
  std::string value;
};

}  // namespace

ApiResponse JsonApi::ListJobs(int64_t sweep_id, const ApiRequest& request) {
  auto sweep = coordinator_->GetSweep(sweep_id);
  if (!sweep.ok()) return FromStatus(sweep.status(), "list the sweeps with GET /api/v1/sweeps");

  std::set<JobState> states;
  for (const auto& s : SplitList(Param(request, "state"))) {
    auto st = ParseJobState(s);
    if (!st) {
      return ErrorResponse(400, "unknown job state '" + s + "'",
                           "use queued, running, succeeded, failed or cancelled (comma-separated)");
    }
    states.insert(*st);
  }
  int64_t offset = 0, limit = kDefaultPageSize;
  if (!Param(request, "offset").empty()) {
    auto v = ParseInt(Param(request, "offset"));
    if (!v || *v < 0) return ErrorResponse(400, "offset must be a non-negative integer", "e.g. offset=50");
    offset = *v;
  }
  if (!Param(request, "limit").empty()) {
    auto v = ParseInt(Param(request, "limit"));
    if (!v || *v < 1 || *v > kMaxPageSize) {
      return ErrorResponse(400, "limit must be between 1 and 1000", "page through larger tables with offset");
    }
    limit = *v;
  }
  const std::string order = Param(request, "order", "asc");
  if (order != "asc" && order != "desc") return ErrorResponse(400, "order must be asc or desc", "e.g. order=desc");
  const std::string metric = Param(request, "metric");
  const std::string sort = Param(request, "sort", "id");

  std::lock_guard<std::mutex> lock(mu_);
  SyncLocked();
  std::vector<const JobRow*> rows = SweepRowsLocked(sweep_id);
  const uint32_t metric_id = FigureId(metric);

  // Columns: the axes the sweep varies (seed last), in a stable order.
  std::set<std::string> axis_set;
  for (const JobRow* r : rows) {
    for (auto it = r->axes.begin(); it != r->axes.end(); ++it) axis_set.insert(it.key());
  }
  std::vector<std::string> columns;
  for (const auto& a : axis_set) {
    if (a != "seed") columns.push_back(a);
  }
  if (axis_set.count("seed")) columns.push_back("seed");

  auto value_of = [&](const JobRow& r, const std::string& key) -> json {
    if (key == "id") return r.id;
    if (key == "state") return JobStateName(r.state);
    if (key == "attempt") return r.attempt;
    if (key == "worker") return r.worker_id;
    if (key == "updated") return r.updated_ms;
    if (key == "epoch") return r.progress.epoch;
    if (key == "metric") {
      if (const double* v = r.Figure(metric_id)) return *v;
      if (metric.rfind("last:", 0) == 0) {
        auto pit = r.progress.metrics.find(metric.substr(5));
        if (pit != r.progress.metrics.end()) return pit->second;
      }
      return nullptr;
    }
    return RowValue(r.axes, *r.summary, key);
  };
  auto resolve_key = [&](const std::string& key) -> std::optional<std::string> {
    static const std::set<std::string> kBuiltin = {"id", "state", "attempt", "worker", "updated", "epoch", "metric"};
    if (kBuiltin.count(key) || axis_set.count(key)) return key;
    for (const char* p : kSummaryPaths) {
      if (key == p) return key;
    }
    if (key == "variant") return key;
    // A suffix: "lc_rate" -> "model.conv.lc_rate".
    std::optional<std::string> found;
    auto try_path = [&](const std::string& path) {
      if (path.size() > key.size() && path.compare(path.size() - key.size(), key.size(), key) == 0 &&
          path[path.size() - key.size() - 1] == '.') {
        found = path;
      }
    };
    for (const auto& a : axis_set) try_path(a);
    if (!found) {
      for (const char* p : kSummaryPaths) try_path(p);
    }
    return found;
  };

  // Filter terms: key=value, key!=value, key<value, ... or free text.
  std::vector<FilterTerm> terms;
  for (const auto& tok : SplitList(Param(request, "filter"), ' ')) {
    FilterTerm t;
    size_t pos = tok.find_first_of("=<>!");
    if (pos == std::string::npos || pos == 0) {
      t.value = Lower(tok);
      terms.push_back(t);
      continue;
    }
    size_t end = pos;
    while (end < tok.size() && std::string("=<>!").find(tok[end]) != std::string::npos) ++end;
    t.op = tok.substr(pos, end - pos);
    if (t.op == "==") t.op = "=";
    static const std::set<std::string> kOps = {"=", "!=", "<", "<=", ">", ">="};
    if (!kOps.count(t.op)) {
      return ErrorResponse(400, "bad operator '" + t.op + "' in filter term '" + tok + "'",
                           "use key=value, key!=value, key<value, key<=value, key>value or key>=value");
    }
    auto key = resolve_key(tok.substr(0, pos));
    if (!key) {
      std::string cols;
      for (const auto& c : columns) cols += " " + c;
      return ErrorResponse(400, "unknown filter key '" + tok.substr(0, pos) + "'",
                           "filter on id, state, attempt, worker, metric, variant or an axis:" + cols);
    }
    t.key = *key;
    t.value = tok.substr(end);
    terms.push_back(t);
  }
  auto matches = [&](const JobRow& r) {
    if (!states.empty() && !states.count(r.state)) return false;
    for (const auto& t : terms) {
      if (t.key.empty()) {
        std::string hay = std::to_string(r.id) + " " + JobStateName(r.state) + " " + r.summary->value("variant", "");
        for (auto it = r.axes.begin(); it != r.axes.end(); ++it) hay += " " + Text(it.value());
        if (Lower(hay).find(t.value) == std::string::npos) return false;
        continue;
      }
      const json v = value_of(r, t.key);
      int cmp;
      char* end = nullptr;
      const double num = std::strtod(t.value.c_str(), &end);
      if (v.is_number() && end && *end == '\0' && !t.value.empty()) {
        const double d = v.get<double>();
        cmp = d < num ? -1 : (d > num ? 1 : 0);
      } else {
        const std::string s = Text(v);
        cmp = s < t.value ? -1 : (s > t.value ? 1 : 0);
      }
      if (t.op == "=" && cmp != 0) return false;
      if (t.op == "!=" && cmp == 0) return false;
      if (t.op == "<" && cmp >= 0) return false;
      if (t.op == "<=" && cmp > 0) return false;
      if (t.op == ">" && cmp <= 0) return false;
      if (t.op == ">=" && cmp < 0) return false;
    }
    return true;
  };

  auto sort_key = resolve_key(sort);
  if (!sort_key) {
    return ErrorResponse(400, "cannot sort by '" + sort + "'",
                         "sort by id, state, attempt, worker, updated, epoch, metric, variant or an axis");
  }
  std::vector<std::pair<json, const JobRow*>> selected;
  std::map<std::string, int64_t> counts;
  for (const JobRow* r : rows) {
    if (!matches(*r)) continue;
    selected.emplace_back(value_of(*r, *sort_key), r);
  }
  const bool desc = order == "desc";
  std::stable_sort(selected.begin(), selected.end(), [&](const auto& a, const auto& b) {
    // Missing values sort last in either order.
    if (a.first.is_null() != b.first.is_null()) return b.first.is_null();
    if (JsonLess(a.first, b.first)) return !desc;
    if (JsonLess(b.first, a.first)) return desc;
    return a.second->id < b.second->id;
  });

  json jobs = json::array();
  for (int64_t i = offset; i < static_cast<int64_t>(selected.size()) && i < offset + limit; ++i) {
    const JobRow& r = *selected[i].second;
    json axes = json::object();
    for (const auto& c : columns) axes[c] = RowValue(r.axes, *r.summary, c);
    jobs.push_back(json{{"id", r.id},
                        {"state", JobStateName(r.state)},
                        {"attempt", r.attempt},
                        {"max_attempts", r.max_attempts},
                        {"worker_id", r.worker_id},
                        {"updated_ms", r.updated_ms},
                        {"variant", r.summary->value("variant", "")},
                        {"axes", axes},
                        {"epoch", r.progress.epoch},
                        {"step", r.progress.step},
                        {"error", r.error},
                        {"metric", value_of(r, "metric")}});
  }
  return ApiResponse{200, json{{"sweep_id", sweep_id},
                               {"total", selected.size()},
                               {"sweep_total", rows.size()},
                               {"offset", offset},
                               {"limit", limit},
                               {"sort", *sort_key},
                               {"order", order},
                               {"metric", metric},
                               {"columns", columns},
                               {"jobs", jobs}}};
}

// ---------------------------------------------------------------------------
// Seed-aggregated results: ablation lines and the pivot table.

namespace {

struct GroupView {
  json axes;                      // swept axes of the group's first job (seed removed)
  const json* summary = nullptr;  // config summary of the group
  FigureStats stats;              // the asked figure over the group's succeeded jobs
};

json GroupValue(const GroupView& g, const std::string& path) { return RowValue(g.axes, *g.summary, path); }

// Groups rows (ascending id) by group hash, i.e. by config minus seed, and
// aggregates figure `metric_id` over each group's succeeded jobs. A template
// so that it needs no access to JsonApi's private row type by name.
template <typename Row>
std::vector<GroupView> BuildGroups(const std::vector<const Row*>& rows, uint32_t metric_id) {
  std::map<std::string, size_t> index;
  std::vector<GroupView> out;
  std::vector<std::vector<double>> values;
  for (const Row* r : rows) {
    const std::string key = r->group_hash.empty() ? "job:" + std::to_string(r->id) : r->group_hash;
    auto [it, added] = index.emplace(key, out.size());
    if (added) {
      GroupView g;
      g.axes = r->axes;
      g.axes.erase("seed");
      g.summary = r->summary.get();
      out.push_back(std::move(g));
      values.emplace_back();
    }
    if (r->state == JobState::kSucceeded) {
      if (const double* v = r->Figure(metric_id)) values[it->second].push_back(*v);
    }
  }
  for (size_t i = 0; i < out.size(); ++i) out[i].stats = ComputeStats(values[i]);
  return out;
}

// Names of the figures any of `rows` has (a bitmap over the interned ids:
// 10,000 jobs x 300 figures are 3 million ids).
template <typename Row>
std::set<std::string> FiguresOf(const std::vector<const Row*>& rows, const std::vector<std::string>& names) {
  std::vector<bool> seen(names.size(), false);
  for (const Row* r : rows) {
    for (uint32_t f : r->figure_ids) seen[f] = true;
  }
  std::set<std::string> out;
  for (size_t f = 0; f < seen.size(); ++f) {
    if (seen[f]) out.insert(names[f]);
  }
  return out;
}

// Sweep axes that take more than one value among the groups (seed excluded).
std::vector<std::string> VaryingAxes(const std::vector<GroupView>& groups) {
  std::map<std::string, std::set<std::string>> values;
  for (const auto& g : groups) {
    for (auto it = g.axes.begin(); it != g.axes.end(); ++it) values[it.key()].insert(it.value().dump());
    values["variant"].insert(g.summary->value("variant", ""));
  }
  std::vector<std::string> out;
  for (const auto& [path, vals] : values) {
    if (path != "seed" && vals.size() > 1) out.push_back(path);
  }
  return out;
}

}  // namespace

ApiResponse JsonApi::Ablation(int64_t sweep_id, const ApiRequest& request) {
  auto sweep = coordinator_->GetSweep(sweep_id);
  if (!sweep.ok()) return FromStatus(sweep.status(), "list the sweeps with GET /api/v1/sweeps");
  std::lock_guard<std::mutex> lock(mu_);
  SyncLocked();
  const std::vector<const JobRow*> rows = SweepRowsLocked(sweep_id);
  const std::set<std::string> figures = FiguresOf(rows, figure_names_);
  const std::string metric = Param(request, "metric", DefaultMetric(figures));
  const std::vector<GroupView> groups = BuildGroups(rows, FigureId(metric));
  if (!metric.empty() && !figures.empty() && !figures.count(metric)) {
    return ErrorResponse(400, "no succeeded job of this sweep has the figure '" + metric + "'",
                         "pick one of the sweep's figures (GET /api/v1/sweeps/" + std::to_string(sweep_id) +
                             " lists them under \"figures\")");
  }
  const std::vector<std::string> varying = VaryingAxes(groups);
  const std::string x = Param(request, "x", "model.conv.lc_rate");
  std::vector<std::string> series = SplitList(Param(request, "series"));
  if (series.empty()) {
    const bool variant_varies = std::count(varying.begin(), varying.end(), "variant") > 0;
    for (const auto& a : varying) {
      if (a == x) continue;
      if (variant_varies && (a == "model.conv.mode" || a == "model.conv.spatial")) continue;
      series.push_back(a);
    }
  }
  std::vector<std::string> pooled;
  for (const auto& a : varying) {
    // "variant" is derived from mode and spatial, which are reported themselves.
    if (a == x || a == "variant" || std::count(series.begin(), series.end(), a)) continue;
    if ((a == "model.conv.mode" || a == "model.conv.spatial") &&
        std::count(series.begin(), series.end(), "variant")) {
      continue;
    }
    pooled.push_back(a);
  }

  // (series label) -> (x value dump) -> parts
  struct Point {
    json x;
    std::vector<FigureStats> parts;
  };
  struct Line {
    json key = json::object();
    std::map<std::string, Point> points;
    bool baseline = true;
  };
  std::map<std::string, Line> lines;
  bool numeric_x = true;
  double max_mean = -std::numeric_limits<double>::infinity();
  for (const auto& g : groups) {
    if (g.stats.n == 0) continue;
    const json xv = GroupValue(g, x);
    if (xv.is_null()) continue;
    if (!xv.is_number()) numeric_x = false;
    std::string label;
    json key = json::object();
    for (const auto& s : series) {
      const json v = GroupValue(g, s);
      key[s] = v;
      if (!label.empty()) label += ", ";
      label += (series.size() > 1 || s != "variant" ? s.substr(s.rfind('.') + 1) + "=" : "") + Text(v);
    }
    if (label.empty()) label = metric;
    Line& line = lines[label];
    line.key = key;
    if (g.summary->value("model.conv.mode", "lc") == "lc") line.baseline = false;
    Point& p = line.points[xv.dump()];
    p.x = xv;
    p.parts.push_back(g.stats);
    max_mean = std::max(max_mean, g.stats.mean);
  }
  double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin;
  json out_series = json::array();
  for (auto& [label, line] : lines) {
    std::vector<Point*> pts;
    for (auto& [k, p] : line.points) pts.push_back(&p);
    std::sort(pts.begin(), pts.end(), [](const Point* a, const Point* b) { return JsonLess(a->x, b->x); });
    json points = json::array();
    for (Point* p : pts) {
      json s = StatsJson(Pool(p->parts));
      s["x"] = p->x;
      s["groups"] = p->parts.size();
      points.push_back(s);
      if (p->x.is_number()) {
        xmin = std::min(xmin, p->x.get<double>());
        xmax = std::max(xmax, p->x.get<double>());
      }
    }
    // A plain-conv baseline has no LC rate: it is a reference line.
    const bool baseline = line.baseline && x == "model.conv.lc_rate";
    out_series.push_back(json{{"label", label}, {"key", line.key}, {"baseline", baseline}, {"points", points}});
  }
  const bool log_x = numeric_x && xmin > 0 &&
                     (x.size() >= 7 && x.compare(x.size() - 7, 7, "lc_rate") == 0 ? true : xmax / xmin >= 16);
  return ApiResponse{200, json{{"sweep_id", sweep_id},
                               {"metric", metric},
                               {"x", x},
                               {"series_axes", series},
                               {"pooled_axes", pooled},
                               {"varying_axes", varying},
                               {"numeric_x", numeric_x},
                               {"log_x", log_x},
                               {"percent", AccuracyLike(metric) && max_mean <= 1.0},
                               {"series", out_series}}};
}

ApiResponse JsonApi::Results(int64_t sweep_id, const ApiRequest& request) {
  auto sweep = coordinator_->GetSweep(sweep_id);
  if (!sweep.ok()) return FromStatus(sweep.status(), "list the sweeps with GET /api/v1/sweeps");
  std::lock_guard<std::mutex> lock(mu_);
  SyncLocked();
  const std::vector<const JobRow*> rows = SweepRowsLocked(sweep_id);
  const std::set<std::string> figures = FiguresOf(rows, figure_names_);
  const std::string metric = Param(request, "metric", DefaultMetric(figures));
  const std::vector<GroupView> groups = BuildGroups(rows, FigureId(metric));
  const std::vector<std::string> varying = VaryingAxes(groups);
  auto has = [&](const std::string& a) { return std::count(varying.begin(), varying.end(), a) > 0; };
  std::string rows_axis = Param(request, "rows");
  std::string cols_axis = Param(request, "cols");
  if (rows_axis.empty()) {
    rows_axis = has("model.conv.lc_rate") ? "model.conv.lc_rate" : "data.name";
    if (!has(rows_axis)) {
      for (const auto& a : varying) {
        if (a != "variant" && a != cols_axis) {
          rows_axis = a;
          break;
        }
      }
    }
  }
  if (cols_axis.empty()) cols_axis = "variant";
  // Published numbers are clean test accuracy; compare only with that figure.
  const std::string m = Lower(metric);
  const bool comparable = AccuracyLike(metric) && m.find('[') == std::string::npos &&
                          m.find("fgsm") == std::string::npos && m.find("pgd") == std::string::npos &&
                          m.find("corrupt") == std::string::npos && m.find("train") == std::string::npos;

  struct Cell {
    std::vector<FigureStats> parts;
    std::set<std::string> published;  // dumps of the groups' published numbers ("" = none)
    json published_json;
  };
  std::vector<json> row_vals, col_vals;
  auto index_of = [](std::vector<json>* vals, const json& v) {
    for (size_t i = 0; i < vals->size(); ++i) {
      if ((*vals)[i] == v) return i;
    }
    vals->push_back(v);
    return vals->size() - 1;
  };
  std::map<std::pair<std::string, std::string>, Cell> cells;
  double max_mean = -std::numeric_limits<double>::infinity();
  for (const auto& g : groups) {
    if (g.stats.n == 0) continue;
    json rv = GroupValue(g, rows_axis), cv = GroupValue(g, cols_axis);
    // A plain conv has no LC rate (its config keeps the default 1): its own row.
    if (g.summary->value("model.conv.mode", "lc") != "lc") {
      if (rows_axis == "model.conv.lc_rate") rv = "plain conv";
      if (cols_axis == "model.conv.lc_rate") cv = "plain conv";
    }
    index_of(&row_vals, rv);
    index_of(&col_vals, cv);
    Cell& cell = cells[{rv.dump(), cv.dump()}];
    cell.parts.push_back(g.stats);
    max_mean = std::max(max_mean, g.stats.mean);
    auto pub = comparable ? PublishedAccuracy(*g.summary) : std::nullopt;
    if (pub) {
      cell.published_json = json{{"mean", pub->mean}, {"std", pub->std}, {"source", pub->source}};
      cell.published.insert(cell.published_json.dump());
    } else {
      cell.published.insert("");
    }
  }
  std::sort(row_vals.begin(), row_vals.end(), JsonLess);
  std::sort(col_vals.begin(), col_vals.end(), JsonLess);
  json table = json::array();
  int64_t published_cells = 0;
  for (const auto& rv : row_vals) {
    json row = json::array();
    for (const auto& cv : col_vals) {
      auto it = cells.find({rv.dump(), cv.dump()});
      if (it == cells.end()) {
        row.push_back(nullptr);
        continue;
      }
      json c = StatsJson(Pool(it->second.parts));
      // Only when every group in the cell maps to the same published number.
      if (it->second.published.size() == 1 && !it->second.published.begin()->empty()) {
        c["published"] = it->second.published_json;
        ++published_cells;
      }
      row.push_back(c);
    }
    table.push_back(row);
  }
  return ApiResponse{200, json{{"sweep_id", sweep_id},
                               {"metric", metric},
                               {"rows_axis", rows_axis},
                               {"cols_axis", cols_axis},
                               {"rows", row_vals},
                               {"cols", col_vals},
                               {"cells", table},
                               {"published_cells", published_cells},
                               {"percent", AccuracyLike(metric) && max_mean <= 1.0},
                               {"figures", figures},
                               {"varying_axes", varying}}};
}

ApiResponse JsonApi::CancelSweep(int64_t sweep_id, const ApiRequest& request) {
  if (!CanMutate(request.role)) {
    return request.role.empty()
               ? ErrorResponse(401, "cancelling needs an admin token",
                               "send Authorization: Bearer <admin token> (the page asks for it under 'Admin token')")
               : ErrorResponse(403, "role '" + request.role + "' may not cancel", "use a token with the admin role");
  }
  auto r = coordinator_->CancelSweep(sweep_id, "cancelled from the dashboard");
  if (!r.ok()) return FromStatus(r.status(), "");
  return ApiResponse{200, json{{"cancelled", r->cancelled},
                               {"skipped_shared", r->skipped_shared},
                               {"already_finished", r->already_finished}}};
}

// ---------------------------------------------------------------------------
// Jobs.

namespace {

json ProgressJson(const JobProgress& p) {
  return json{{"epoch", p.epoch}, {"step", p.step}, {"metrics", p.metrics}, {"updated_ms", p.updated_ms}};
}

}  // namespace

ApiResponse JsonApi::GetJob(int64_t id) {
  auto job = coordinator_->GetJob(id);
  if (!job.ok()) return FromStatus(job.status(), "job ids are listed in the sweep's job table");
  json out{{"id", job->id},
           {"sweep_ids", job->sweep_ids},
           {"state", JobStateName(job->state)},
           {"attempt", job->attempt},
           {"max_attempts", job->max_attempts},
           {"priority", job->priority},
           {"worker_id", job->lease_owner},
           {"lease_expiry_ms", job->state == JobState::kRunning ? job->lease_expiry_ms : 0},
           {"created_ms", job->created_ms},
           {"queued_ms", job->queued_ms},
           {"started_ms", job->started_ms},
           {"finished_ms", job->finished_ms},
           {"updated_ms", job->updated_ms},
           {"error", job->error},
           {"retryable", job->retryable},
           {"hash", job->hash},
           {"group_hash", job->group_hash},
           {"progress", ProgressJson(job->progress)}};
  out["axes"] = json::parse(job->axes_json.empty() ? "{}" : job->axes_json, nullptr, false);
  out["config"] = json::parse(job->config_json, nullptr, false);
  out["result"] = job->result_json.empty() ? json(nullptr) : json::parse(job->result_json, nullptr, false);
  if (out["result"].is_discarded()) out["result"] = job->result_json;
  std::vector<std::string> names;
  for (const auto& [name, v] : job->progress.metrics) names.push_back(name);
  out["metric_names"] = names;
  json summary = json::object();
  if (out["config"].is_object()) {
    for (const char* path : kSummaryPaths) {
      const auto ptr = Pointer(path);
      if (out["config"].contains(ptr)) summary[path] = out["config"].at(ptr);
    }
  }
  summary["variant"] = VariantOf(summary);
  out["summary"] = summary;
  auto pub = PublishedAccuracy(summary);
  if (pub) out["published"] = json{{"mean", pub->mean}, {"std", pub->std}, {"source", pub->source}};
  return ApiResponse{200, out};
}

nlohmann::json JsonApi::JobEvent(int64_t job_id) {
  auto job = coordinator_->GetJob(job_id);
  if (!job.ok()) return nullptr;
  return json{{"id", job->id},
              {"sweep_ids", job->sweep_ids},
              {"state", JobStateName(job->state)},
              {"attempt", job->attempt},
              {"worker_id", job->lease_owner},
              {"updated_ms", job->updated_ms},
              {"epoch", job->progress.epoch},
              {"step", job->progress.step},
              {"metrics", job->progress.metrics}};
}

ApiResponse JsonApi::Metrics(int64_t id, const ApiRequest& request) {
  auto job = coordinator_->GetJob(id);
  if (!job.ok()) return FromStatus(job.status(), "job ids are listed in the sweep's job table");
  std::vector<std::string> names = SplitList(Param(request, "names"));
  if (names.empty()) {
    for (const auto& [name, v] : job->progress.metrics) names.push_back(name);
  }
  if (names.size() > 64) return ErrorResponse(400, "at most 64 metric names per request", "ask for fewer names");
  int64_t max_points = kDefaultMaxPoints;
  if (!Param(request, "max_points").empty()) {
    auto v = ParseInt(Param(request, "max_points"));
    if (!v || *v < 0 || *v > 10'000'000) {
      return ErrorResponse(400, "max_points must be an integer >= 0", "0 returns every point; 1000 suits a chart");
    }
    max_points = *v;
  }
  std::optional<int> attempt;
  if (!Param(request, "attempt").empty()) {
    auto v = ParseInt(Param(request, "attempt"));
    if (!v || *v < 1) return ErrorResponse(400, "attempt must be a positive integer", "attempts count from 1");
    attempt = static_cast<int>(*v);
  }
  std::optional<double> after_step = ParamDouble(request, "after_step");
  if (!Param(request, "after_step").empty() && !after_step) {
    return ErrorResponse(400, "after_step must be a number", "e.g. after_step=1200");
  }
  json series = json::array();
  const bool cacheable = IsTerminal(job->state) && !after_step;
  for (const auto& name : names) {
    const std::string cache_key = std::to_string(id) + "|" + name + "|" + std::to_string(attempt.value_or(0)) + "|" +
                                  std::to_string(max_points);
    if (cacheable) {
      std::lock_guard<std::mutex> lock(series_mu_);
      auto it = series_cache_.find(cache_key);
      if (it != series_cache_.end() && it->second.first == job->version) {
        series.push_back(it->second.second);
        continue;
      }
    }
    ListMetricsRequest req;
    req.job_id = id;
    req.names = {name};
    req.attempt = attempt.value_or(0);
    req.limit = std::numeric_limits<int>::max();
    auto pts = coordinator_->ListMetrics(req);
    if (!pts.ok()) return FromStatus(pts.status(), "");
    const size_t total = pts->size();
    // A resumed attempt repeats steps after its checkpoint: keep, for each
    // step range, the points of the newest attempt so the curve is a function.
    std::vector<const MetricPoint*> kept;
    kept.reserve(total);
    int64_t cutoff = std::numeric_limits<int64_t>::max();
    for (size_t i = total; i-- > 0;) {
      const MetricPoint& p = (*pts)[i];
      if (i + 1 < total && p.attempt != (*pts)[i + 1].attempt) {
        // Entering an older attempt: its points at or beyond the newer one's first step are superseded.
        int64_t first = (*pts)[i + 1].step;
        cutoff = std::min(cutoff, first);
      }
      if (p.attempt == (*pts)[total - 1].attempt || p.step < cutoff) {
        if (!after_step || static_cast<double>(p.step) > *after_step) kept.push_back(&p);
      }
    }
    std::reverse(kept.begin(), kept.end());
    // Steps are the x axis; points are already ordered by (attempt, step).
    std::vector<size_t> idx;
    bool downsampled = false;
    if (max_points > 0 && kept.size() > static_cast<size_t>(max_points)) {
      std::vector<double> xs(kept.size()), ys(kept.size());
      for (size_t i = 0; i < kept.size(); ++i) {
        xs[i] = static_cast<double>(kept[i]->step);
        ys[i] = kept[i]->value;
      }
      idx = LargestTriangleThreeBuckets(xs, ys, static_cast<size_t>(max_points));
      downsampled = true;
    } else {
      idx.resize(kept.size());
      for (size_t i = 0; i < kept.size(); ++i) idx[i] = i;
    }
    json points = json::array();
    for (size_t i : idx) {
      const MetricPoint* p = kept[i];
      // NaN/inf are not JSON: send null so the chart shows a gap.
      json v = std::isfinite(p->value) ? json(p->value) : json(nullptr);
      points.push_back(json::array({p->step, v, p->epoch, p->time_ms}));
    }
    json one{{"name", name},
             {"total", total},
             {"returned", idx.size()},
             {"downsampled", downsampled},
             {"columns", {"step", "value", "epoch", "time_ms"}},
             {"points", std::move(points)}};
    if (cacheable) {
      std::lock_guard<std::mutex> lock(series_mu_);
      if (series_cache_.size() >= kSeriesCacheEntries) series_cache_.clear();
      series_cache_[cache_key] = {job->version, one};
    }
    series.push_back(std::move(one));
  }
  return ApiResponse{200, json{{"job_id", id}, {"max_points", max_points}, {"series", series}}};
}

ApiResponse JsonApi::Events(int64_t id) {
  auto job = coordinator_->GetJob(id);
  if (!job.ok()) return FromStatus(job.status(), "job ids are listed in the sweep's job table");
  ListEventsRequest req;
  req.job_id = id;
  req.limit = 5000;
  auto events = coordinator_->ListEvents(req);
  if (!events.ok()) return FromStatus(events.status(), "job ids are listed in the sweep's job table");
  json out = json::array();
  for (const auto& e : *events) {
    out.push_back(json{{"id", e.id},
                       {"time_ms", e.time_ms},
                       {"attempt", e.attempt},
                       {"from", e.from_state},
                       {"to", e.to_state},
                       {"reason", e.reason},
                       {"worker_id", e.worker_id}});
  }
  return ApiResponse{200, json{{"job_id", id}, {"events", out}}};
}

ApiResponse JsonApi::MutateJob(int64_t id, const std::string& action, const ApiRequest& request) {
  if (!CanMutate(request.role)) {
    if (request.role.empty()) {
      return ErrorResponse(401, action + " needs an admin token",
                           request.token_presented
                               ? "the token sent is not in the coordinator's tokens file"
                               : "send Authorization: Bearer <admin token> (the page asks for it under 'Admin token')");
    }
    return ErrorResponse(403, "role '" + request.role + "' may not " + action + " jobs",
                         "use a token with the admin role");
  }
  StatusOr<JobRecord> job = action == "cancel" ? coordinator_->CancelJob(id, "cancelled from the dashboard")
                                               : coordinator_->RetryJob(id);
  if (!job.ok()) {
    return FromStatus(job.status(), action == "cancel" ? "only queued and running jobs can be cancelled"
                                                       : "only failed and cancelled jobs can be retried");
  }
  return ApiResponse{200, json{{"id", job->id}, {"state", JobStateName(job->state)}, {"attempt", job->attempt}}};
}

ApiResponse JsonApi::Workers() {
  const int64_t now = SystemClock::Get()->NowMs();
  const int64_t ttl = coordinator_->options().lease_ttl_ms;
  json out = json::array();
  for (const auto& w : coordinator_->ListWorkers()) {
    json devices = json::array();
    for (const auto& d : w.devices) {
      devices.push_back(json{{"kind", d.kind}, {"name", d.name}, {"memory_gb", d.memory_gb}});
    }
    json jobs = json::array();
    double throughput = 0;
    for (int64_t jid : w.current_jobs) {
      auto job = coordinator_->GetJob(jid);
      if (!job.ok()) continue;
      std::optional<double> ips;
      for (const auto& [name, v] : job->progress.metrics) {
        const std::string n = Lower(name);
        if (n.find("images_per") != std::string::npos || n.find("img_per") != std::string::npos ||
            n.find("throughput") != std::string::npos) {
          ips = v;
        }
      }
      if (ips) throughput += *ips;
      jobs.push_back(json{{"id", jid},
                          {"state", JobStateName(job->state)},
                          {"epoch", job->progress.epoch},
                          {"step", job->progress.step},
                          {"images_per_s", ips ? json(*ips) : json(nullptr)}});
    }
    out.push_back(json{{"id", w.id},
                       {"name", w.name},
                       {"host", w.host},
                       {"devices", devices},
                       {"cores", w.cores},
                       {"slots", w.slots},
                       {"versions", w.versions},
                       {"registered_ms", w.registered_ms},
                       {"last_seen_ms", w.last_seen_ms},
                       {"alive", now - w.last_seen_ms <= ttl},
                       {"jobs", jobs},
                       {"images_per_s", throughput}});
  }
  return ApiResponse{200, json{{"workers", out}, {"now_ms", now}}};
}

}  // namespace lcsweep
