// FeedWaiters: parks the calls that wait on the coordinator's change feed
// (LeaseJob long polls, WatchJob / WatchSweep streams, written as gRPC
// callback-API reactors) so that a waiting call holds no thread: a parked
// call is an entry in a map; one thread of this class's own wakes when the
// feed moves or a deadline passes and calls the entries that are due.
//
// Two kinds of waiter, so that the wake-up test is done once per batch of
// changes and not once per waiter (2,000 idle workers):
//  - kLease: due when a job may have become leasable (a sweep was submitted
//    or a job entered the queue) or at its deadline;
//  - kAny:   due on any change or at its deadline (a watch stream; its
//    WatchSession filters).
// Poke() makes one waiter due at once (its call was cancelled).
//
// Ownership: waiters are owned by their reactors; a waiter must stay alive
// while parked, and is never called after OnWake returned or after Stop().
// Thread-safety: every method may be called from any thread; OnWake runs on
// the dispatcher thread, never concurrently with another OnWake.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <thread>

#include "common/mutex.h"
#include "server/core/change_feed.h"

namespace lcsweep::rpc {

class FeedWaiter {
 public:
  virtual ~FeedWaiter() = default;
  // The waiter is due (woken by the feed, its deadline or a Poke) or the
  // server stops (stopping: finish the call now). The waiter is no longer
  // parked when this runs; to wait again it calls Park() itself.
  virtual void OnWake(bool stopping) = 0;
};

class FeedWaiters {
 public:
  enum class Kind { kLease, kAny };
  explicit FeedWaiters(ChangeFeed* feed);
  ~FeedWaiters();  // Stop()
  FeedWaiters(const FeedWaiters&) = delete;
  FeedWaiters& operator=(const FeedWaiters&) = delete;

  // Parks `waiter` until a change past `cursor` of its kind, or `deadline`.
  // After Stop() the waiter is woken (stopping) at once, on this thread.
  void Park(FeedWaiter* waiter, Kind kind, uint64_t cursor,
            std::chrono::steady_clock::time_point deadline);
  // Makes a parked waiter due now; one that is not parked (its call is
  // being served) is due as soon as it parks again.
  void Poke(FeedWaiter* waiter);
  // Forgets `waiter` (parked or poked): call before destroying it.
  void Forget(FeedWaiter* waiter);
  // Wakes every parked waiter with stopping = true and ends the thread.
  void Stop();
  // How many waiters are parked (for tests and the benchmark).
  size_t parked() const;

 private:
  struct Entry {
    Kind kind = Kind::kAny;
    uint64_t cursor = 0;
    std::chrono::steady_clock::time_point deadline;
    bool poked = false;
  };
  void Run();

  ChangeFeed* const feed_;
  int subscription_ = 0;
  mutable Mutex mu_;
  CondVar cv_;
  std::map<FeedWaiter*, Entry> parked_ LCSWEEP_GUARDED_BY(mu_);
  std::set<FeedWaiter*> poked_ LCSWEEP_GUARDED_BY(mu_);  // poked while not parked
  bool fed_ LCSWEEP_GUARDED_BY(mu_) = false;  // the feed moved since the last look
  bool stopping_ LCSWEEP_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace lcsweep::rpc
