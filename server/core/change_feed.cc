// ChangeFeed (see change_feed.h).
#include "server/core/change_feed.h"

#include <algorithm>
#include <cstddef>
#include <utility>

namespace lcsweep {

ChangeFeed::ChangeFeed(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {}

void ChangeFeed::Publish(std::vector<Change> changes) {
  if (changes.empty()) return;
  for (Change& c : changes) {
    if (c.kind != Change::Kind::kMetrics || c.points.empty()) continue;
    auto [lo, hi] = std::minmax_element(
        c.points.begin(), c.points.end(),
        [](const MetricPoint& a, const MetricPoint& b) { return a.step < b.step; });
    c.min_step = lo->step;
    c.max_step = hi->step;
    if (c.points.size() > Change::kMaxPointsPerChange) {
      c.points.erase(c.points.begin(),
                     c.points.end() - static_cast<std::ptrdiff_t>(Change::kMaxPointsPerChange));
      c.truncated = true;
    }
  }
  {
    MutexLock lock(&mu_);
    for (Change& c : changes) ring_.push_back(std::make_shared<const Change>(std::move(c)));
    // Drop the oldest beyond the capacity; a reader behind them is told.
    const size_t excess = ring_.size() > capacity_ ? ring_.size() - capacity_ : 0;
    ring_.erase(ring_.begin(), ring_.begin() + static_cast<std::ptrdiff_t>(excess));
    first_seq_ += excess;
  }
  cv_.NotifyAll();
  RunCallbacks();
}

uint64_t ChangeFeed::Cursor() const {
  MutexLock lock(&mu_);
  return first_seq_ + ring_.size();
}

ChangeFeed::Batch ChangeFeed::Read(uint64_t cursor) const {
  return Wait(cursor, std::chrono::steady_clock::time_point::min());
}

ChangeFeed::Batch ChangeFeed::Wait(uint64_t cursor,
                                   std::chrono::steady_clock::time_point deadline) const {
  MutexLock lock(&mu_);
  const uint64_t wakeups = wakeups_;
  // Under mu_: the CondVar holds it while it checks.
  auto ready = [&]() LCSWEEP_NO_THREAD_SAFETY_ANALYSIS {
    return closed_ || wakeups_ != wakeups || first_seq_ + ring_.size() > cursor;
  };
  while (!ready()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    cv_.WaitFor(&lock,
                std::chrono::ceil<std::chrono::milliseconds>(
                    std::min<std::chrono::steady_clock::duration>(deadline - now,
                                                                  std::chrono::hours(1))),
                ready);
  }
  Batch batch;
  batch.closed = closed_;
  const uint64_t end = first_seq_ + ring_.size();
  if (cursor < first_seq_) {
    batch.lost = true;
    cursor = first_seq_;
  }
  for (uint64_t s = cursor; s < end; ++s) batch.changes.push_back(ring_[s - first_seq_]);
  batch.next_cursor = std::max(end, cursor);
  return batch;
}

void ChangeFeed::WakeAll() {
  {
    MutexLock lock(&mu_);
    ++wakeups_;
  }
  cv_.NotifyAll();
  RunCallbacks();
}

void ChangeFeed::Close() {
  {
    MutexLock lock(&mu_);
    closed_ = true;
  }
  cv_.NotifyAll();
  RunCallbacks();
}

bool ChangeFeed::closed() const {
  MutexLock lock(&mu_);
  return closed_;
}

int ChangeFeed::Subscribe(std::function<void()> wake) {
  MutexLock lock(&callbacks_mu_);
  const int id = next_callback_id_++;
  callbacks_[id] = std::move(wake);
  return id;
}

void ChangeFeed::Unsubscribe(int id) {
  MutexLock lock(&callbacks_mu_);  // waits for a running RunCallbacks
  callbacks_.erase(id);
}

void ChangeFeed::RunCallbacks() {
  MutexLock lock(&callbacks_mu_);
  for (auto& [id, wake] : callbacks_) wake();
}

}  // namespace lcsweep
