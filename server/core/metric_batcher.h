// MetricBatcher: group commit of metric reports. Concurrent reporters append
// their reports; one of them (the leader) writes everything pending in one
// store transaction while the others wait. So an acknowledged report is
// durable, and 64 workers reporting at once cost a few transactions instead
// of 64.
//
// Isolation: one report must never fail another. When a group's transaction
// fails, the leader commits each of its reports alone, and each Append
// returns the status of the transaction that carried its own report alone
// (so a report the store refuses fails by itself, and a disk that is full
// fails everybody, each with RESOURCE_EXHAUSTED).
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

  // Blocks until `report` is committed (or its transaction failed; then
  // none of its points is stored and the store's error is returned).
  Status Append(MetricReport report);

  // Number of store transactions written so far (for tests/benchmarks).
  int64_t transactions() const;

 private:
  struct Pending {
    MetricReport report;
    Status* status;  // the waiter's; written by the leader
  };
  // Commits `group` as one transaction, or each alone if that fails.
  void Flush(std::vector<Pending>* group);

  Store* const store_;
  mutable std::mutex mu_;
  std::condition_variable done_;
  std::vector<Pending> pending_;
  uint64_t pending_generation_ = 1;  // generation of the reports in pending_
  uint64_t completed_generation_ = 0;  // newest generation whose commit finished
  bool flushing_ = false;
  int64_t transactions_ = 0;
};

}  // namespace lcsweep
