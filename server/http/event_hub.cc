#include "server/http/event_hub.h"

#include <algorithm>
#include <cstddef>

namespace lcsweep {

void EventHub::Publish(const ChangeNotice& notice) {
  Item item;
  item.kind = notice.kind;
  item.id = notice.id;
  if (notice.kind == ChangeNotice::Kind::kMetrics) {
    const size_t n = std::min(notice.points.size(), kMaxPointsPerNotice);
    item.points.assign(notice.points.end() - static_cast<std::ptrdiff_t>(n), notice.points.end());
    item.truncated = n < notice.points.size();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ring_.push_back(std::move(item));
    while (ring_.size() > capacity_) {
      ring_.pop_front();
      ++first_seq_;
    }
  }
  cv_.notify_all();
}

uint64_t EventHub::Cursor() const {
  std::lock_guard<std::mutex> lock(mu_);
  return first_seq_ + ring_.size();
}

EventHub::Batch EventHub::Wait(uint64_t cursor, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return closed_ || first_seq_ + ring_.size() > cursor; });
  Batch batch;
  batch.closed = closed_;
  const uint64_t end = first_seq_ + ring_.size();
  if (cursor < first_seq_) {
    batch.lost = true;
    cursor = first_seq_;
  }
  for (uint64_t s = cursor; s < end; ++s) batch.notices.push_back(ring_[s - first_seq_]);
  batch.next_cursor = end > cursor ? end : cursor;
  return batch;
}

void EventHub::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

}  // namespace lcsweep
