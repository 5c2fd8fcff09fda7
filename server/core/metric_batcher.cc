// Group commit of metric reports (see metric_batcher.h).
#include "server/core/metric_batcher.h"

#include <utility>

namespace lcsweep {

Status MetricBatcher::Append(MetricReport report) {
  if (report.points.empty()) return OkStatus();
  Status status;  // written by whichever thread commits this report
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t generation = pending_generation_;
  pending_.push_back({std::move(report), &status});
  // Generations are committed in order by one leader at a time, so while ours
  // is not completed and nobody is flushing, ours is still the pending one.
  while (completed_generation_ < generation) {
    if (flushing_) {
      done_.wait(lock);
      continue;
    }
    flushing_ = true;
    std::vector<Pending> group;
    group.swap(pending_);
    const uint64_t flushed = pending_generation_++;
    lock.unlock();
    Flush(&group);
    lock.lock();
    completed_generation_ = flushed;
    flushing_ = false;
    done_.notify_all();
  }
  return status;
}

void MetricBatcher::Flush(std::vector<Pending>* group) {
  WriteBatch batch;
  for (const Pending& p : *group) batch.metric_reports.push_back(p.report);
  Status status = store_->Commit(batch);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++transactions_;
  }
  if (status.ok() || group->size() == 1) {
    for (Pending& p : *group) *p.status = status;
    return;
  }
  // Somebody's report broke the shared transaction (or the disk is full):
  // each report alone, so the others are not lost with it.
  for (Pending& p : *group) {
    WriteBatch alone;
    alone.metric_reports.push_back(std::move(p.report));
    *p.status = store_->Commit(alone);
    std::lock_guard<std::mutex> lock(mu_);
    ++transactions_;
  }
}

int64_t MetricBatcher::transactions() const {
  std::lock_guard<std::mutex> lock(mu_);
  return transactions_;
}

}  // namespace lcsweep
