#include "worker/agent/backoff.h"

#include <algorithm>

namespace lcsweep::agent {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, uint64_t seed)
    : initial_(initial), max_(max), current_(initial), rng_(seed) {}

std::chrono::milliseconds Backoff::Next() {
  const int64_t high = current_.count();
  std::uniform_int_distribution<int64_t> pick(high / 2, high);
  const std::chrono::milliseconds delay(pick(rng_));
  current_ = std::min(max_, current_ * 2);
  return delay;
}

void Backoff::Reset() { current_ = initial_; }

}  // namespace lcsweep::agent
