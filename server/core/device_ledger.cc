// DeviceLedger: reported free memory less what was leased since (see
// device_ledger.h).
#include "server/core/device_ledger.h"

#include <algorithm>

namespace lcsweep {

void DeviceLedger::Report(int64_t worker, const std::string& device, double free_gb) {
  if (free_gb <= 0) {
    entries_.erase({worker, device});
    return;
  }
  entries_[{worker, device}] = Entry{free_gb, 0};
}

void DeviceLedger::ForgetWorker(int64_t worker) {
  auto it = entries_.lower_bound({worker, std::string()});
  while (it != entries_.end() && it->first.first == worker) it = entries_.erase(it);
}

void DeviceLedger::Leased(int64_t worker, const std::string& device, double gb) {
  auto it = entries_.find({worker, device});
  if (it != entries_.end()) it->second.leased_since_gb += std::max(0.0, gb);
}

std::optional<double> DeviceLedger::Available(int64_t worker, const std::string& device) const {
  auto it = entries_.find({worker, device});
  if (it == entries_.end()) return std::nullopt;
  return std::max(0.0, it->second.reported_free_gb - it->second.leased_since_gb);
}

}  // namespace lcsweep
