// ResourceUsage: what one attempt of a job used, as the worker that ran it
// measured it (worker/agent/usage_meter.h) and the coordinator stores it
// (AttemptUsage in server/core/types.h). One struct for both sides, so a
// figure means the same thing on the wire, in the store and in a report.
// Thread-safety: a value.
#pragma once

#include <cstdint>
#include <string>

namespace lcsweep {

// Cumulative from the start of the attempt to the worker's latest report. A
// figure the worker could not measure is 0 (energy: with energy_source "").
// All numbers are finite and >= 0 (the coordinator refuses others:
// server/rpc/request_checks.h).
struct ResourceUsage {
  double wall_seconds = 0;       // from the start of the attempt on the worker
  double cpu_seconds = 0;        // CPU time of the worker process charged to the attempt
  double gpu_seconds = 0;        // wall time the attempt held a GPU (0 on a CPU)
  std::string device_kind;       // "cpu" | "cuda" ("" = not reported)
  std::string device_model;      // e.g. "Intel Xeon Platinum 8481C", "NVIDIA H100 80GB HBM3"
  int64_t images = 0;            // training images processed by this attempt
  int64_t peak_host_bytes = 0;   // peak resident memory of the worker process during it
  int64_t peak_device_bytes = 0; // peak device memory allocated by it (0 on a CPU)
  double energy_joules = 0;      // energy drawn during it, when energy_source is set
  std::string energy_source;     // "" (not measured), "rapl" (CPU package counters), "nvml"
};

}  // namespace lcsweep
