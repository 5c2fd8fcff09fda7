// Clock: the coordinator's only source of time, injected so that lease expiry,
// heartbeats and timestamps are testable with a fake clock
// (tests/fakes/fake_clock.h) instead of sleeping.
//
// All coordinator times are int64 milliseconds since the Unix epoch (UTC).
// Thread-safety: implementations must be safe to call from any thread.
#pragma once

#include <chrono>
#include <cstdint>

namespace lcsweep {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual int64_t NowMs() const = 0;
};

// The real wall clock (std::chrono::system_clock).
class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  // A process-wide instance; never destroyed.
  static Clock* Get() {
    static SystemClock* clock = new SystemClock();
    return clock;
  }
};

}  // namespace lcsweep
