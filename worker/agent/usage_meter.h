// UsageMeter: what each attempt a worker runs uses (compute accounting,
// ResourceUsage in common/resource_usage.h), measured from the process and
// the machine, not estimated.
//
// How each figure is taken:
//  - wall_seconds: steady clock from Open() to the snapshot.
//  - cpu_seconds: the CPU time of the whole worker process (user + system,
//    every thread: LibTorch's pool, the loader, gRPC) between snapshots,
//    split in equal parts among the attempts open in each interval. With one
//    attempt at a time (the default: one slot) the attempt is charged exactly
//    the process's CPU time while it ran, so a sweep's report sums to the
//    workers' CPU time minus their idle time between jobs.
//  - gpu_seconds: wall_seconds when the attempt runs on a "cuda" device.
//  - images: as the runner reports them (ProgressReport::run_images).
//  - peak_host_bytes: the process's peak resident set (VmHWM), reset when an
//    attempt opens while no other is open (writing "5" to
//    /proc/self/clear_refs), so it is the attempt's own peak with one slot and
//    the shared peak of the overlapping attempts otherwise.
//  - peak_device_bytes: what the device probe reports (0 without one).
//  - energy: the machine's energy counters between snapshots, split like the
//    CPU time: RAPL package domains under /sys/class/powercap (machine-wide,
//    so it includes other processes on the machine; wrap-around handled), or
//    none when they are not readable. A GPU's NVML counter is a source of the
//    same shape (EnergySource).
//
// Thread-safety: every method of UsageMeter and of its accounts may be called
// from any thread (one mutex per meter).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "common/resource_usage.h"

namespace lcsweep::agent {

// A cumulative energy counter (joules since some origin, monotonic except at
// wrap-around, which the source hides); nullopt when it cannot be read.
class EnergySource {
 public:
  virtual ~EnergySource() = default;
  virtual std::optional<double> ReadJoules() = 0;
  virtual const char* name() const = 0;  // ResourceUsage::energy_source
};

// The RAPL package domains of /sys/class/powercap (intel-rapl:N, summed,
// sub-domains left out because they are parts of the packages), or nullptr
// when none is readable. `root` is for tests.
std::unique_ptr<EnergySource> OpenRaplEnergy(const std::string& root = "/sys/class/powercap");

// Where the meter reads the process; the defaults read the real process.
struct UsageProbes {
  std::function<double()> process_cpu_seconds;   // getrusage(RUSAGE_SELF), user + system
  std::function<int64_t()> peak_rss_bytes;        // VmHWM of /proc/self/status
  std::function<void()> reset_peak_rss;           // "5" > /proc/self/clear_refs
  std::function<std::chrono::steady_clock::time_point()> now;
  std::shared_ptr<EnergySource> energy;           // may be null (no energy figures)
};
UsageProbes SystemUsageProbes();

class UsageMeter {
 public:
  explicit UsageMeter(UsageProbes probes = SystemUsageProbes());
  UsageMeter(const UsageMeter&) = delete;
  UsageMeter& operator=(const UsageMeter&) = delete;

  // One attempt's account; it stops accruing when destroyed. Must not
  // outlive its meter.
  class Account {
   public:
    ~Account();
    Account(const Account&) = delete;
    Account& operator=(const Account&) = delete;
    // Training images processed so far by the attempt (monotonic).
    void SetImages(int64_t images);
    // Device memory peak so far, when a device probe measures it.
    void SetPeakDeviceBytes(int64_t bytes);
    // The attempt's usage up to now.
    ResourceUsage Snapshot();

   private:
    friend class UsageMeter;
    Account(UsageMeter* meter, std::string device_kind, std::string device_model);
    UsageMeter* const meter_;
    const std::chrono::steady_clock::time_point opened_;
    // Guarded by meter_->mu_.
    ResourceUsage usage_;
  };

  // `device_kind` "cpu" or "cuda"; `device_model` as ResourceUsage says.
  std::unique_ptr<Account> Open(const std::string& device_kind, const std::string& device_model);

 private:
  // Charges what the process and machine used since the last call to the
  // open accounts, in equal parts.
  void AdvanceLocked();

  const UsageProbes probes_;
  std::mutex mu_;
  std::set<Account*> open_;
  double last_cpu_ = 0;
  std::optional<double> last_energy_;
};

// The model name of this machine's CPU ("model name" of /proc/cpuinfo), or
// "cpu" when it has none.
std::string CpuModelName();

}  // namespace lcsweep::agent
