#include "worker/agent/stop_signal.h"

namespace lcsweep::agent {

void StopSignal::Drain() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    draining_ = true;
  }
  cv_.notify_all();
}

void StopSignal::Abort() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    draining_ = true;
    aborted_ = true;
  }
  cv_.notify_all();
}

bool StopSignal::SleepFor(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, d, [this] { return draining_.load(); });
}

}  // namespace lcsweep::agent
