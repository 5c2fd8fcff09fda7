// DevicePacker: measured free memory and admitted estimates (see packer.h).
#include "worker/agent/packer.h"

#include <algorithm>

namespace lcsweep::agent {

int64_t DevicePacker::OfferLocked(const std::string& device) {
  StatusOr<DeviceMemory> m = probe_->Probe(device);
  if (!m.ok()) return 0;
  int64_t admitted = 0;
  for (const auto& [job, a] : admitted_) {
    if (a.device == device) admitted += a.bytes;
  }
  const int64_t room = std::min(m->free_bytes, m->total_bytes - admitted) - reserve_bytes_;
  return std::max<int64_t>(0, room);
}

int64_t DevicePacker::Offer(const std::string& device) {
  std::lock_guard<std::mutex> lock(mu_);
  return OfferLocked(device);
}

bool DevicePacker::TryAdmit(const std::string& device, int64_t job, int64_t estimate_bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  if (std::max<int64_t>(0, estimate_bytes) > OfferLocked(device)) return false;
  admitted_[job] = Admission{device, std::max<int64_t>(0, estimate_bytes)};
  return true;
}

void DevicePacker::Remove(int64_t job) {
  std::lock_guard<std::mutex> lock(mu_);
  admitted_.erase(job);
}

int64_t DevicePacker::Admitted(const std::string& device) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t sum = 0;
  for (const auto& [job, a] : admitted_) {
    if (a.device == device) sum += a.bytes;
  }
  return sum;
}

}  // namespace lcsweep::agent
