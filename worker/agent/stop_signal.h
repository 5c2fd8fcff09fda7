// StopSignal: the agent's shutdown state, shared by every slot.
//   Drain()  finish gracefully: running jobs checkpoint, upload and release;
//            no new leases.
//   Abort()  stop at once (a second SIGTERM): jobs are left to lease expiry.
// Sleeps are interruptible so a draining worker never waits out a backoff.
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace lcsweep::agent {

class StopSignal {
 public:
  void Drain();
  void Abort();
  bool draining() const { return draining_.load(); }
  bool aborted() const { return aborted_.load(); }
  // Sleeps up to `d`; returns early (true) when a drain or abort arrives.
  bool SleepFor(std::chrono::milliseconds d);

 private:
  std::atomic<bool> draining_{false};
  std::atomic<bool> aborted_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace lcsweep::agent
