// Coordinator: final models of jobs (RecordModel from the worker's upload,
// ModelOfJob for downloads) and their retention policy. See coordinator.h
// for the contracts.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "server/core/coordinator.h"

namespace lcsweep {
namespace {

// Newer first: a model stored later is newer; equal times fall back to the
// larger job id so the order is total.
bool Newer(const ModelMeta& a, const ModelMeta& b) {
  if (a.time_ms != b.time_ms) return a.time_ms > b.time_ms;
  return a.job_id > b.job_id;
}

}  // namespace

StatusOr<RecordModelResult> Coordinator::RecordModel(const std::string& token, ModelMeta meta) {
  std::vector<Change> notices;
  RecordModelResult result;
  {
    MutexLock lock(&mu_);
    LCSWEEP_ASSIGN_OR_RETURN(JobRecord job, LiveLease(token));
    if (meta.path.empty()) return InvalidArgumentError("model path is empty");
    meta.job_id = job.id;
    meta.attempt = job.attempt;
    meta.pruned = false;
    if (meta.time_ms == 0) meta.time_ms = clock_->NowMs();
    auto existing = models_.find(job.id);
    const bool has_live = existing != models_.end() && !existing->second.pruned;
    if (has_live && existing->second.sha256 == meta.sha256 && existing->second.size_bytes == meta.size_bytes) {
      // A resend after a lost reply: the bytes are stored already.
      result.recorded = existing->second;
      result.duplicate = true;
      if (meta.path != existing->second.path) result.remove.push_back(meta.path);
      return result;
    }
    WriteBatch batch;
    batch.models.push_back(meta);
    if (has_live && existing->second.path != meta.path) result.remove.push_back(existing->second.path);

    if (options_.keep_models > 0) {
      // The live model of a job as it will be after this batch.
      // (The lambdas run here, under mu_; the analysis cannot see into them.)
      auto live = [&](int64_t id) LCSWEEP_NO_THREAD_SAFETY_ANALYSIS -> const ModelMeta* {
        if (id == job.id) return &meta;
        auto it = models_.find(id);
        return it == models_.end() || it->second.pruned ? nullptr : &it->second;
      };
      // Whether `m` is among the keep_models newest live models of sweep s.
      auto kept_by = [&](int64_t sweep_id, const ModelMeta& m) LCSWEEP_NO_THREAD_SAFETY_ANALYSIS {
        int64_t newer = 0;
        for (int64_t id : sweep_jobs_[sweep_id]) {
          const ModelMeta* other = live(id);
          if (other != nullptr && other != &m && Newer(*other, m)) ++newer;
        }
        return newer < options_.keep_models;
      };
      std::set<int64_t> candidates;
      for (int64_t s : job.sweep_ids) {
        for (int64_t id : sweep_jobs_[s]) {
          if (id != job.id && live(id) != nullptr) candidates.insert(id);
        }
      }
      for (int64_t id : candidates) {
        const ModelMeta& m = *live(id);
        const JobRecord* other = FindJob(id);
        if (other == nullptr) continue;
        const bool kept = std::any_of(other->sweep_ids.begin(), other->sweep_ids.end(),
                                      [&](int64_t s) { return kept_by(s, m); });
        if (kept) continue;
        ModelMeta pruned = m;
        result.remove.push_back(pruned.path);
        pruned.path.clear();
        pruned.pruned = true;
        batch.models.push_back(std::move(pruned));
      }
    }
    LCSWEEP_RETURN_IF_ERROR(CommitAndApply(batch, &notices));
    result.recorded = meta;
  }
  Notify(std::move(notices));
  return result;
}

StatusOr<ModelMeta> Coordinator::ModelOfJob(int64_t job_id) const {
  MutexLock lock(&mu_);
  const JobRecord* job = FindJob(job_id);
  if (job == nullptr) return NotFoundError("no job with id " + std::to_string(job_id));
  const std::string name = "job " + std::to_string(job_id);
  if (job->state != JobState::kSucceeded) {
    return FailedPreconditionError(name + " is " + JobStateName(job->state) +
                                   ": a model is stored only when a job succeeds");
  }
  auto it = models_.find(job_id);
  if (it == models_.end()) {
    return NotFoundError(name + " succeeded without a stored model: it finished before this "
                         "coordinator kept models, or its worker could not upload the model "
                         "(see the worker's log, event=model_upload_failed)");
  }
  if (it->second.pruned) {
    return NotFoundError(name + "'s model was deleted by the retention policy (the coordinator keeps "
                         "the models of the newest " + std::to_string(options_.keep_models) +
                         " jobs per sweep, --keep-models); re-run the job with force to get one");
  }
  return it->second;
}

StatusOr<std::optional<ModelMeta>> Coordinator::ModelRowOfJob(int64_t job_id) const {
  MutexLock lock(&mu_);
  if (FindJob(job_id) == nullptr) return NotFoundError("no job with id " + std::to_string(job_id));
  auto it = models_.find(job_id);
  if (it == models_.end()) return std::optional<ModelMeta>();
  return std::optional<ModelMeta>(it->second);
}

}  // namespace lcsweep
