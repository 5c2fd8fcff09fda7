// Group commit of metric points (see metric_batcher.h).
#include "server/core/metric_batcher.h"

#include <utility>

namespace lcsweep {

Status MetricBatcher::Append(std::vector<MetricPoint> points) {
  if (points.empty()) return OkStatus();
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t generation = pending_generation_;
  pending_.insert(pending_.end(), std::make_move_iterator(points.begin()),
                  std::make_move_iterator(points.end()));
  ++outcomes_[generation].waiters;
  // Generations are committed in order by one leader at a time, so while ours
  // is not completed and nobody is flushing, ours is still the pending one.
  while (completed_generation_ < generation) {
    if (flushing_) {
      done_.wait(lock);
      continue;
    }
    flushing_ = true;
    WriteBatch batch;
    batch.metrics.swap(pending_);
    const uint64_t flushed = pending_generation_++;
    lock.unlock();
    Status status = store_->Commit(batch);
    lock.lock();
    ++transactions_;
    outcomes_[flushed].status = status;
    completed_generation_ = flushed;
    flushing_ = false;
    done_.notify_all();
  }
  auto it = outcomes_.find(generation);
  Status status = it->second.status;
  if (--it->second.waiters == 0) outcomes_.erase(it);
  return status;
}

int64_t MetricBatcher::transactions() const {
  std::lock_guard<std::mutex> lock(mu_);
  return transactions_;
}

}  // namespace lcsweep
