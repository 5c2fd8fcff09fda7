// LeaseQueue: priority, fair share and device matching (see lease_queue.h).
#include "server/core/lease_queue.h"

#include <climits>

namespace lcsweep {

void LeaseQueue::Update(const JobRecord* before, const JobRecord& after) {
  if (before != nullptr) {
    if (before->state == JobState::kQueued) {
      queued_.erase({-before->priority, before->id});
      for (int64_t s : before->sweep_ids) {
        auto q = queued_by_sweep_.find(s);
        if (q == queued_by_sweep_.end()) continue;
        q->second.erase({-before->priority, before->id});
        if (q->second.empty()) queued_by_sweep_.erase(q);
      }
    }
    if (before->state == JobState::kRunning)
      for (int64_t s : before->sweep_ids) --running_per_sweep_[s];
  }
  if (after.state == JobState::kQueued) {
    queued_.insert({-after.priority, after.id});
    for (int64_t s : after.sweep_ids) queued_by_sweep_[s].insert({-after.priority, after.id});
  }
  if (after.state == JobState::kRunning)
    for (int64_t s : after.sweep_ids) ++running_per_sweep_[s];
}

bool LeaseQueue::Matches(const JobRecord& job, const LeaseRequest& worker) {
  const JobRequirements& r = job.requirements;
  const bool cuda_ok = worker.has_cuda && worker.free_gpu_memory_gb >= RequiredGpuMemoryGb(r);
  if (r.device == "cpu") return worker.has_cpu;
  if (r.device == "cuda") return cuda_ok;
  return cuda_ok || worker.has_cpu;  // "any": a GPU when one fits, else the CPU
}

int64_t LeaseQueue::RunningInSweeps(const JobRecord& job) const {
  int64_t least = INT64_MAX;
  for (int64_t s : job.sweep_ids) {
    auto it = running_per_sweep_.find(s);
    least = std::min(least, it == running_per_sweep_.end() ? int64_t{0} : it->second);
  }
  return least == INT64_MAX ? 0 : least;
}

std::optional<int64_t> LeaseQueue::Best(const LeaseRequest& request,
                                        const std::map<int64_t, JobRecord>& jobs) const {
  const JobRecord* best = nullptr;
  int64_t best_load = 0;
  for (const auto& [sweep_id, queue] : queued_by_sweep_) {
    for (const Key& key : queue) {
      const JobRecord& job = jobs.at(key.second);
      if (!Matches(job, request)) continue;
      const int64_t load = RunningInSweeps(job);
      if (best == nullptr || job.priority > best->priority ||
          (job.priority == best->priority &&
           (load < best_load || (load == best_load && job.id < best->id)))) {
        best = &job;
        best_load = load;
      }
      break;  // later jobs of this sweep's queue are worse
    }
  }
  if (best == nullptr) return std::nullopt;
  return best->id;
}

}  // namespace lcsweep
