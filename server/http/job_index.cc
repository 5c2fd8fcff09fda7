// The dashboard's job index (see job_index.h).
#include "server/http/job_index.h"

#include <algorithm>
#include <sstream>

#include "analysis/flatten.h"
#include "analysis/groups.h"
#include "common/job_config_json.h"
#include "common/logging.h"

namespace lcsweep {

const char* const kSummaryPaths[14] = {
    "seed", "data.name", "model.arch", "model.depth", "model.width", "model.kernel_size",
    "model.conv.mode", "model.conv.lc_rate", "model.conv.spatial", "model.conv.init",
    "model.conv.sharing", "model.conv.intermediate", "train.epochs", "resources.device"};

namespace {

constexpr int kPageSize = 1000;

nlohmann::json::json_pointer Pointer(const std::string& dotted) {
  std::string p;
  std::stringstream ss(dotted);
  std::string part;
  while (std::getline(ss, part, '.')) p += "/" + part;
  return nlohmann::json::json_pointer(p);
}

}  // namespace

nlohmann::json ConfigSummary(const nlohmann::json& config) {
  nlohmann::json summary = nlohmann::json::object();
  if (config.is_object()) {
    for (const char* path : kSummaryPaths) {
      const auto ptr = Pointer(path);
      if (config.contains(ptr)) summary[path] = config.at(ptr);
    }
  }
  summary[analysis::kVariantAxis] = analysis::VariantOf(summary.value(analysis::kModeAxis, "lc"),
                                                        summary.value(analysis::kSpatialAxis, "frozen"));
  return summary;
}

const double* JobIndex::Row::Figure(uint32_t id) const {
  auto it = std::lower_bound(figure_ids.begin(), figure_ids.end(), id);
  if (it == figure_ids.end() || *it != id) return nullptr;
  return &figure_values[static_cast<size_t>(it - figure_ids.begin())];
}

int64_t JobIndex::Row::EpochsTotal() const {
  auto it = group->summary.find("train.epochs");
  return it != group->summary.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

int64_t JobIndex::Row::EpochsDone() const {
  const int64_t total = EpochsTotal();
  if (state == JobState::kSucceeded && total > 0) return total;
  return total > 0 ? std::min<int64_t>(progress.epoch, total) : progress.epoch;
}

std::vector<const JobIndex::Row*> JobIndex::View::SweepRows(int64_t sweep_id) const {
  std::vector<const Row*> out;
  for (const auto& [id, row] : index_->rows_) {
    if (std::find(row.sweep_ids.begin(), row.sweep_ids.end(), sweep_id) != row.sweep_ids.end()) out.push_back(&row);
  }
  return out;
}

const JobIndex::Row* JobIndex::View::Find(int64_t job_id) const {
  auto it = index_->rows_.find(job_id);
  return it == index_->rows_.end() ? nullptr : &it->second;
}

uint32_t JobIndex::View::FigureId(const std::string& name) const {
  auto it = index_->figure_ids_.find(name);
  return it == index_->figure_ids_.end() ? kNoFigure : it->second;
}

std::set<std::string> JobIndex::View::FiguresOf(const std::vector<const Row*>& rows) const {
  // A bitmap over the interned ids: 10,000 jobs x 300 figures are 3 million ids.
  std::vector<bool> seen(index_->figure_names_.size(), false);
  for (const Row* r : rows) {
    for (uint32_t f : r->figure_ids) seen[f] = true;
  }
  std::set<std::string> out;
  for (size_t f = 0; f < seen.size(); ++f) {
    if (seen[f]) out.insert(index_->figure_names_[f]);
  }
  return out;
}

JobIndex::JobIndex(Coordinator* coordinator)
    : coordinator_(coordinator), cursor_(coordinator->feed().Cursor()) {}

JobIndex::~JobIndex() = default;

void JobIndex::Read(const std::function<void(const View&)>& fn) {
  std::lock_guard<std::mutex> lock(mu_);
  SyncLocked();
  fn(View(this));
}

void JobIndex::WarmUp() {
  std::lock_guard<std::mutex> lock(mu_);
  SyncLocked();
}

uint32_t JobIndex::InternFigure(const std::string& name) {
  auto [it, added] = figure_ids_.emplace(name, static_cast<uint32_t>(figure_names_.size()));
  if (added) figure_names_.push_back(name);
  return it->second;
}

JobIndex::Row JobIndex::MakeRow(const JobRecord& job) {
  Row row;
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
  row.axes = nlohmann::json::parse(job.axes_json.empty() ? "{}" : job.axes_json, nullptr, false);
  if (!row.axes.is_object()) row.axes = nlohmann::json::object();
  auto cached = job.group_hash.empty() ? groups_.end() : groups_.find(job.group_hash);
  const bool need_seed = !row.axes.contains("seed");
  if (cached != groups_.end() && !need_seed) {
    row.group = cached->second;
  } else {
    // The config is parsed once per group (and for the seed of jobs whose
    // sweep does not list seeds as an axis).
    const nlohmann::json config = nlohmann::json::parse(job.config_json, nullptr, false);
    nlohmann::json summary = ConfigSummary(config);
    if (summary.contains("seed")) {
      if (need_seed) row.axes["seed"] = summary["seed"];
      summary.erase("seed");
    }
    if (cached != groups_.end()) {
      row.group = cached->second;
    } else {
      auto info = std::make_shared<GroupInfo>();
      info->summary = std::move(summary);
      if (config.is_object()) {
        if (auto parsed = JobConfigFromJson(config); parsed.ok()) info->published = analysis::MatchPublished(*parsed);
      }
      row.group = info;
      if (!job.group_hash.empty()) groups_[job.group_hash] = row.group;
    }
  }
  if (job.state == JobState::kSucceeded && !job.result_json.empty()) {
    const nlohmann::json result = nlohmann::json::parse(job.result_json, nullptr, false);
    if (result.is_object()) {
      std::vector<std::pair<uint32_t, double>> figures;
      for (const auto& [name, v] : analysis::FlattenResult(result)) figures.emplace_back(InternFigure(name), v);
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

void JobIndex::SyncLocked() {
  // The feed is read before the jobs, so a change made while they are read
  // is read again next time: nothing is missed.
  ChangeFeed::Batch batch = coordinator_->feed().Read(cursor_);
  cursor_ = batch.next_cursor;
  if (batch.lost) all_dirty_ = true;
  std::set<int64_t> dirty;
  if (!all_dirty_) {
    for (const std::shared_ptr<const Change>& c : batch.changes)
      if (c->kind == Change::Kind::kJob || c->kind == Change::Kind::kMetrics) dirty.insert(c->id);
  } else {
    // Cursor pagination over every job.
    rows_.clear();
    ListJobsRequest req;
    req.page_size = kPageSize;
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

}  // namespace lcsweep
