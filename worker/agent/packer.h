// DevicePacker: decides whether one more job fits on a device that already
// runs some (`lcsweep-worker --pack`: several slots share one device).
//
// A device can give a new job
//     min(free measured now, total - estimates of the jobs admitted there) - reserve
// The first term sees memory taken by anything (other processes, the CUDA
// context, the caching allocator); the second sees jobs that were admitted
// but have not allocated yet, which a measurement cannot. Admission is
// atomic: two slots that ask at once cannot both count on the same memory,
// so the sum of the admitted estimates plus the reserve never exceeds the
// device's total, and a job is admitted only while the measured free memory
// covers it plus the reserve.
//
// Ownership: the probe is not owned and must outlive the packer.
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "worker/agent/device_probe.h"

namespace lcsweep::agent {

class DevicePacker {
 public:
  DevicePacker(DeviceProbe* probe, int64_t reserve_bytes) : probe_(probe), reserve_bytes_(reserve_bytes) {}

  // Bytes `device` can give one more job now (>= 0; 0 when it cannot be
  // measured).
  int64_t Offer(const std::string& device);
  // Admits `job` with `estimate_bytes` on `device` when it fits Offer();
  // false otherwise (nothing recorded).
  bool TryAdmit(const std::string& device, int64_t job, int64_t estimate_bytes);
  // The job ended (no-op for a job that was not admitted).
  void Remove(int64_t job);
  // Sum of the admitted estimates on `device`.
  int64_t Admitted(const std::string& device);

 private:
  int64_t OfferLocked(const std::string& device);

  DeviceProbe* probe_;
  const int64_t reserve_bytes_;
  std::mutex mu_;
  struct Admission {
    std::string device;
    int64_t bytes = 0;
  };
  std::map<int64_t, Admission> admitted_;  // job id -> where and how much
};

}  // namespace lcsweep::agent
