// JobIndex: the dashboard's in-memory index of every job, kept in step with
// the Coordinator by reading its change feed, so that no request parses
// thousands of configs or results or holds the Coordinator's lock while
// aggregating.
//
// Per job it keeps a Row: state, progress, swept axes, and the flattened
// result figures of a succeeded job (analysis/flatten.h names), flattened
// once when the job succeeds, as interned figure ids with their values.
// Per seed group (config minus seed) it keeps a GroupInfo, parsed once: the
// config values the views show (kSummaryPaths), the variant, and the
// group's published number (analysis/published.h).
//
// Thread-safety: all methods may be called from many threads; Read() runs
// its callback under the index's mutex (keep it short, do not call back in).
// Ownership: does not own the Coordinator, which must outlive the index.
#pragma once

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

#include <nlohmann/json.hpp>

#include "analysis/published.h"
#include "server/core/coordinator.h"

namespace lcsweep {

// Config paths every row carries besides its swept axes, so that tables,
// filters and plots can use them when a sweep does not vary them.
extern const char* const kSummaryPaths[14];

// The kSummaryPaths values of `config` (seed included when present) plus "variant".
nlohmann::json ConfigSummary(const nlohmann::json& config);

struct GroupInfo {
  nlohmann::json summary;                  // ConfigSummary minus seed
  std::optional<analysis::PublishedMatch> published;  // nullopt when the config does not parse
};

class JobIndex {
 public:
  struct Row {
    int64_t id = 0;
    uint64_t version = 0;
    JobState state = JobState::kQueued;
    int attempt = 0;
    int max_attempts = 0;
    int priority = 0;
    int64_t worker_id = 0;
    std::vector<int64_t> sweep_ids;
    int64_t created_ms = 0, started_ms = 0, finished_ms = 0, updated_ms = 0;
    std::string error;
    std::string group_hash;                  // the seed-aggregation group
    nlohmann::json axes;                     // swept axis path -> value (seed included)
    std::shared_ptr<const GroupInfo> group;  // shared by the jobs of a group
    JobProgress progress;
    std::vector<uint32_t> figure_ids;        // ascending
    std::vector<double> figure_values;
    const double* Figure(uint32_t id) const;  // nullptr when the job has no such figure
    // Epochs trained: the configured count once succeeded (the last progress
    // report may predate the last epoch), else the progress's count.
    int64_t EpochsDone() const;
    int64_t EpochsTotal() const;             // train.epochs; 0 when unknown
  };

  // What a request reads, under the index's mutex.
  class View {
   public:
    std::vector<const Row*> SweepRows(int64_t sweep_id) const;
    const Row* Find(int64_t job_id) const;
    uint32_t FigureId(const std::string& name) const;  // kNoFigure when unknown
    // Names of the figures any of `rows` has.
    std::set<std::string> FiguresOf(const std::vector<const Row*>& rows) const;

   private:
    friend class JobIndex;
    explicit View(const JobIndex* index) : index_(index) {}
    const JobIndex* index_;
  };
  static constexpr uint32_t kNoFigure = 0xffffffffu;

  explicit JobIndex(Coordinator* coordinator);
  ~JobIndex();
  JobIndex(const JobIndex&) = delete;
  JobIndex& operator=(const JobIndex&) = delete;

  // Brings the index up to date, then runs `fn` on it under the mutex.
  void Read(const std::function<void(const View&)>& fn);
  // Reads every job now (the server calls it on a background thread at start).
  void WarmUp();

 private:
  // Reads the coordinator's feed from cursor_, then re-reads the jobs it
  // names (or every job after the feed dropped changes).
  void SyncLocked();
  Row MakeRow(const JobRecord& job);
  uint32_t InternFigure(const std::string& name);

  Coordinator* const coordinator_;
  std::mutex mu_;
  uint64_t cursor_ = 0;                         // next change to read; guarded by mu_
  bool all_dirty_ = true;                       // guarded by mu_
  std::map<int64_t, Row> rows_;                 // guarded by mu_
  std::map<std::string, std::shared_ptr<const GroupInfo>> groups_;  // by group hash; guarded by mu_
  std::unordered_map<std::string, uint32_t> figure_ids_;            // guarded by mu_
  std::vector<std::string> figure_names_;                           // guarded by mu_
};

}  // namespace lcsweep
