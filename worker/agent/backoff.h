// Exponential backoff with full jitter for calls to an unreachable
// coordinator: delays grow from `initial` to `max`, each one drawn uniformly
// from [delay/2, delay] so a fleet of workers does not reconnect in lockstep.
// Not thread-safe: one per caller.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace lcsweep::agent {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, uint64_t seed);
  // The delay to wait before the next try; grows the delay for the one after.
  std::chrono::milliseconds Next();
  void Reset();

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  std::chrono::milliseconds current_;
  std::mt19937_64 rng_;
};

}  // namespace lcsweep::agent
