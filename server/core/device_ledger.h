// DeviceLedger: how much memory the coordinator may still hand out on each
// worker device. A worker reports a device's free memory (at registration
// and with heartbeats); every lease on that device afterwards subtracts the
// job's memory, until the next report replaces both. Two leases within one
// heartbeat interval therefore cannot both count on the same free memory.
//
// The free memory a report measures may not yet show a job leased just
// before it (the job allocates while it starts); the worker's own lease
// offer covers that case, since it subtracts the estimates of the jobs it
// runs (worker/agent/packer.h). The coordinator matches against the smaller
// of the two.
//
// In memory only: after a coordinator restart the ledger is empty until the
// workers report again, and only their lease offers bound a job's memory.
// Thread-safety: none; the Coordinator calls it under its mutex.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

namespace lcsweep {

class DeviceLedger {
 public:
  // A fresh measurement of `device` on `worker`: forgets what was leased
  // there before it. free_gb <= 0 means "unknown" and forgets the device.
  void Report(int64_t worker, const std::string& device, double free_gb);
  // The worker registered again (restarted): forgets all its devices.
  void ForgetWorker(int64_t worker);
  // A job needing `gb` was leased on the device.
  void Leased(int64_t worker, const std::string& device, double gb);
  // Free memory left on the device by the ledger; nullopt when no report
  // of it is known. Never negative.
  std::optional<double> Available(int64_t worker, const std::string& device) const;

 private:
  struct Entry {
    double reported_free_gb = 0;
    double leased_since_gb = 0;
  };
  std::map<std::pair<int64_t, std::string>, Entry> entries_;
};

}  // namespace lcsweep
