// EventHub: fans the Coordinator's change notices out to the dashboard's
// server-sent-event streams.
//
// The Coordinator calls listeners on its own threads and asks them to be
// quick, so the hub only appends each notice to a bounded ring (with a
// sequence number) and wakes the waiting streams; every stream keeps its own
// cursor and reads the ring at its own pace. A stream that falls more than
// the ring's capacity behind is told so (lost = true) and the page resyncs
// by reloading, so a slow browser never makes the coordinator buffer without
// bound.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "server/core/types.h"

namespace lcsweep {

class EventHub {
 public:
  explicit EventHub(size_t capacity = 8192) : capacity_(capacity) {}

  // Appends one notice (the Coordinator listener). The job record and audit
  // event it may carry are dropped (streams read the job fresh); metric
  // points beyond kMaxPointsPerNotice are dropped and the notice is marked
  // truncated, so the page refetches the curve instead.
  void Publish(const ChangeNotice& notice);
  static constexpr size_t kMaxPointsPerNotice = 2000;

  struct Item {
    ChangeNotice::Kind kind = ChangeNotice::Kind::kJob;
    int64_t id = 0;
    std::vector<MetricPoint> points;  // kMetrics
    bool truncated = false;
  };

  struct Batch {
    std::vector<Item> notices;
    uint64_t next_cursor = 0;  // pass to the next Wait
    bool lost = false;         // notices between the cursor and the ring start were dropped
    bool closed = false;       // Close() was called
  };
  // Sequence number the next published notice will get: a new stream starts here.
  uint64_t Cursor() const;
  // Returns the notices with sequence >= cursor, waiting up to `timeout` for
  // the first one; an empty batch on timeout.
  Batch Wait(uint64_t cursor, std::chrono::milliseconds timeout) const;
  // Wakes every waiter; later waits return closed at once.
  void Close();

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::deque<Item> ring_;
  uint64_t first_seq_ = 0;  // sequence number of ring_.front()
  bool closed_ = false;
};

}  // namespace lcsweep
