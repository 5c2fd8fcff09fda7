// MetricBatcher: group commit of metric points. Concurrent reporters append
// their points; one of them (the leader) writes everything pending in one
// store transaction while the others wait, and each Append returns the
// status of the transaction that carried its points. So an acknowledged
// report is durable, and 64 workers reporting at once cost a few
// transactions instead of 64.
//
// Thread-safety: Append may be called from any number of threads. The store
// must outlive the batcher.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

#include "common/status.h"
#include "server/core/store.h"

namespace lcsweep {

class MetricBatcher {
 public:
  explicit MetricBatcher(Store* store) : store_(store) {}

  // Blocks until `points` are committed (or their transaction failed; then
  // none of them is stored and the store's error is returned).
  Status Append(std::vector<MetricPoint> points);

  // Number of store transactions written so far (for tests/benchmarks).
  int64_t transactions() const;

 private:
  struct Outcome {
    Status status;
    int waiters = 0;
  };

  Store* const store_;
  mutable std::mutex mu_;
  std::condition_variable done_;
  std::vector<MetricPoint> pending_;
  uint64_t pending_generation_ = 1;  // generation of the points in pending_
  uint64_t completed_generation_ = 0;  // newest generation whose commit finished
  bool flushing_ = false;
  std::map<uint64_t, Outcome> outcomes_;  // finished generations not read by all waiters
  int64_t transactions_ = 0;
};

}  // namespace lcsweep
