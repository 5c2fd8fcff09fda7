// FakeClock: a Clock that only moves when a test moves it, so lease expiry
// and heartbeats are tested without sleeping.
// Thread-safety: NowMs/Advance/Set may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>

#include "server/core/clock.h"

namespace lcsweep {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_ms = 1'700'000'000'000) : now_ms_(start_ms) {}
  int64_t NowMs() const override { return now_ms_.load(); }
  void Advance(int64_t ms) { now_ms_ += ms; }
  void Set(int64_t ms) { now_ms_ = ms; }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace lcsweep
