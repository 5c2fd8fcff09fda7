// ChangeFeed: the one stream of the coordinator's committed changes. Every
// reader of "what changed" (LeaseJob long polls, WatchJob / WatchSweep
// streams, the dashboard's server-sent events and its job index) reads this
// feed with a cursor of its own; nothing else in the server tracks changes.
//
// Model: an append-only sequence of small Change records (a kind, an id and
// what a reader needs to decide whether it cares; never a copy of a job),
// kept in a bounded ring. A reader holds a cursor (the sequence number of the
// next change it wants) and reads from it at its own pace; a reader that
// falls more than `capacity` changes behind is told so (Batch::lost) and must
// resynchronise from the coordinator's current state, so a slow reader never
// makes the coordinator buffer without bound. Readers fetch the current
// record of what changed (GetJob, ...) instead of carrying it here: a
// 100,000-job submission appends 100,000 small records, not 100,000 copies.
//
// Waiting: Wait() blocks a thread (until a change, the deadline, Close() or
// WakeAll()); Subscribe() registers a callback run after every append, for
// readers that must not hold a thread while they wait (gRPC callback-API
// reactors). Callbacks run on the publishing thread after the feed's mutex is
// released, and must be quick (schedule work, never call back into the
// coordinator's mutating methods).
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "common/mutex.h"
#include "server/core/types.h"

namespace lcsweep {

struct Change {
  enum class Kind { kJob, kSweep, kWorker, kEvent, kMetrics };
  Kind kind = Kind::kJob;
  int64_t id = 0;                    // job (kJob, kEvent, kMetrics), sweep or worker id
  uint64_t version = 0;              // the coordinator's version after the change
  JobState state = JobState::kQueued;  // kJob: the job's state after the change
  std::vector<int64_t> sweep_ids;    // kJob: the job's sweeps
  std::optional<Event> event;        // kEvent: the audit entry
  // kMetrics: the committed points, the last kMaxPointsPerChange of them;
  // truncated says some were left out (read them from the store: they lie in
  // [min_step, max_step]).
  std::vector<MetricPoint> points;
  bool truncated = false;
  int64_t min_step = 0, max_step = 0;
  static constexpr size_t kMaxPointsPerChange = 2000;
};

class ChangeFeed {
 public:
  explicit ChangeFeed(size_t capacity = size_t{1} << 16);
  ChangeFeed(const ChangeFeed&) = delete;
  ChangeFeed& operator=(const ChangeFeed&) = delete;

  // Appends `changes` in order (kMetrics points are cut to
  // kMaxPointsPerChange here), then wakes waiters and runs the callbacks.
  void Publish(std::vector<Change> changes);

  // The sequence number the next change will get: a new reader starts here.
  uint64_t Cursor() const;

  struct Batch {
    std::vector<std::shared_ptr<const Change>> changes;  // sequence >= cursor, in order
    uint64_t next_cursor = 0;  // pass to the next Read / Wait
    bool lost = false;         // changes between the cursor and the ring's start were dropped
    bool closed = false;       // Close() was called
  };
  // The changes from `cursor` on, at once (possibly none).
  Batch Read(uint64_t cursor) const;
  // The same, waiting until there is at least one, or `deadline`, Close()
  // or WakeAll(); an empty batch then.
  Batch Wait(uint64_t cursor, std::chrono::steady_clock::time_point deadline) const;
  // Wakes every Wait() once (a server that stops its streams), without
  // closing the feed.
  void WakeAll();
  // Wakes every waiter and callback; later waits return closed at once.
  void Close();
  bool closed() const;

  // Runs `wake` after every Publish() and on Close(). Returns an id for
  // Unsubscribe, which returns only when no call of that callback is running.
  int Subscribe(std::function<void()> wake);
  void Unsubscribe(int id);

 private:
  void RunCallbacks();

  const size_t capacity_;
  mutable Mutex mu_;
  mutable CondVar cv_;
  std::deque<std::shared_ptr<const Change>> ring_ LCSWEEP_GUARDED_BY(mu_);
  uint64_t first_seq_ LCSWEEP_GUARDED_BY(mu_) = 0;  // sequence number of ring_.front()
  uint64_t wakeups_ LCSWEEP_GUARDED_BY(mu_) = 0;    // WakeAll() calls
  bool closed_ LCSWEEP_GUARDED_BY(mu_) = false;

  // Serialises callback runs with Subscribe/Unsubscribe; never held with mu_.
  Mutex callbacks_mu_;
  int next_callback_id_ LCSWEEP_GUARDED_BY(callbacks_mu_) = 1;
  std::map<int, std::function<void()>> callbacks_ LCSWEEP_GUARDED_BY(callbacks_mu_);
};

}  // namespace lcsweep
