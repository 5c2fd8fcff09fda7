// DeviceProbe: how much memory each of the worker's devices has, and how much
// of it is free right now. The agent probes at registration and before every
// heartbeat and lease request, so the coordinator places jobs on memory that
// is free when it matters, not on a total read once at start.
//
// SystemDeviceProbe (MakeSystemDeviceProbe) measures:
//   "cpu"     MemTotal and MemAvailable of /proc/meminfo (MemAvailable is
//             what the kernel can hand out without swapping, page cache
//             included, which is the number a new job competes for).
//   "cuda:N"  NVML's nvmlDeviceGetMemoryInfo for device N. libnvidia-ml.so.1
//             is loaded at run time (dlopen), so the build has no CUDA
//             dependency. Without NVML (no driver, or a container without
//             the library) it falls back to `nvidia-smi --query-gpu=
//             memory.total,memory.free`; without either the probe fails
//             with FAILED_PRECONDITION and says why, and the agent reports
//             the device with unknown (0) free memory, so memory-hungry jobs
//             are not placed there by guesswork.
// Errors: INVALID_ARGUMENT for a device name that is neither "cpu" nor
// "cuda:N"; FAILED_PRECONDITION when nothing can measure the device.
// Thread-safety: Probe() may be called from several threads at once (every
// slot's heartbeat thread probes).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"

namespace lcsweep::agent {

// Whether a worker device name ("cpu", "cuda", "cuda:N") is a CUDA device.
inline bool IsCudaDevice(const std::string& device) { return device.rfind("cuda", 0) == 0; }

struct DeviceMemory {
  int64_t total_bytes = 0;
  int64_t free_bytes = 0;
  std::string source;  // "meminfo" | "nvml" | "nvidia-smi" | "fake"
};

class DeviceProbe {
 public:
  virtual ~DeviceProbe() = default;
  virtual StatusOr<DeviceMemory> Probe(const std::string& device) = 0;
};

// The probe of this machine (see above). `meminfo_path` replaces
// /proc/meminfo (tests).
std::unique_ptr<DeviceProbe> MakeSystemDeviceProbe(std::string meminfo_path = "/proc/meminfo");

// Parses /proc/meminfo text: MemTotal and MemAvailable (kB) as bytes.
// INVALID_ARGUMENT when either line is missing.
StatusOr<DeviceMemory> ParseMeminfo(const std::string& text);

inline double BytesToGb(int64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0); }
inline int64_t GbToBytes(double gb) { return static_cast<int64_t>(gb * 1024.0 * 1024.0 * 1024.0); }

}  // namespace lcsweep::agent
