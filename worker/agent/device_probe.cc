// SystemDeviceProbe: /proc/meminfo for the CPU, NVML (dlopen) or nvidia-smi
// for GPUs (see device_probe.h).
#include "worker/agent/device_probe.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>

namespace lcsweep::agent {
namespace {

// The few NVML entry points we call, with the C types of nvml.h (the header
// is not needed: these signatures are NVML's stable ABI since driver 325).
struct NvmlMemory {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
using NvmlInitFn = int (*)();
using NvmlHandleFn = int (*)(unsigned int, void**);
using NvmlMemoryFn = int (*)(void*, NvmlMemory*);

class Nvml {
 public:
  // Loads the library once; later calls reuse it (or its failure).
  static Nvml& Get() {
    static Nvml nvml;
    return nvml;
  }
  const std::string& error() const { return error_; }
  bool ok() const { return error_.empty(); }

  StatusOr<DeviceMemory> Memory(unsigned int index) {
    std::lock_guard<std::mutex> lock(mu_);  // NVML is thread-safe; the handle cache is not
    void* handle = nullptr;
    int rc = handle_fn_(index, &handle);
    if (rc != 0) {
      return FailedPreconditionError("NVML cannot open GPU " + std::to_string(index) +
                                     " (nvmlDeviceGetHandleByIndex error " + std::to_string(rc) + ")");
    }
    NvmlMemory mem{};
    rc = memory_fn_(handle, &mem);
    if (rc != 0) {
      return FailedPreconditionError("NVML cannot read the memory of GPU " + std::to_string(index) +
                                     " (nvmlDeviceGetMemoryInfo error " + std::to_string(rc) + ")");
    }
    return DeviceMemory{static_cast<int64_t>(mem.total), static_cast<int64_t>(mem.free), "nvml"};
  }

 private:
  Nvml() {
    void* lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      const char* e = dlerror();
      error_ = std::string("cannot load libnvidia-ml.so.1: ") + (e ? e : "unknown error");
      return;
    }
    auto init = reinterpret_cast<NvmlInitFn>(dlsym(lib, "nvmlInit_v2"));
    handle_fn_ = reinterpret_cast<NvmlHandleFn>(dlsym(lib, "nvmlDeviceGetHandleByIndex_v2"));
    memory_fn_ = reinterpret_cast<NvmlMemoryFn>(dlsym(lib, "nvmlDeviceGetMemoryInfo"));
    if (init == nullptr || handle_fn_ == nullptr || memory_fn_ == nullptr) {
      error_ = "libnvidia-ml.so.1 lacks nvmlInit_v2 / nvmlDeviceGetHandleByIndex_v2 / nvmlDeviceGetMemoryInfo";
      return;
    }
    const int rc = init();
    if (rc != 0) error_ = "nvmlInit_v2 failed with error " + std::to_string(rc);
  }

  std::mutex mu_;
  std::string error_;
  NvmlHandleFn handle_fn_ = nullptr;
  NvmlMemoryFn memory_fn_ = nullptr;
};

// nvidia-smi reports MiB.
StatusOr<DeviceMemory> NvidiaSmiMemory(unsigned int index) {
  const std::string cmd = "nvidia-smi --query-gpu=memory.total,memory.free --format=csv,noheader,nounits -i " +
                          std::to_string(index) + " 2>/dev/null";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return FailedPreconditionError("cannot run nvidia-smi");
  char line[256] = {0};
  const bool got = fgets(line, sizeof(line), pipe) != nullptr;
  const int rc = pclose(pipe);
  double total_mib = 0, free_mib = 0;
  if (!got || rc != 0 || std::sscanf(line, "%lf , %lf", &total_mib, &free_mib) != 2) {
    return FailedPreconditionError("nvidia-smi gave no memory for GPU " + std::to_string(index));
  }
  constexpr double kMiB = 1024.0 * 1024.0;
  return DeviceMemory{static_cast<int64_t>(total_mib * kMiB), static_cast<int64_t>(free_mib * kMiB),
                      "nvidia-smi"};
}

class SystemDeviceProbe : public DeviceProbe {
 public:
  explicit SystemDeviceProbe(std::string meminfo_path) : meminfo_path_(std::move(meminfo_path)) {}

  StatusOr<DeviceMemory> Probe(const std::string& device) override {
    if (device == "cpu") {
      std::ifstream in(meminfo_path_);
      if (!in) return FailedPreconditionError("cannot read " + meminfo_path_);
      std::stringstream text;
      text << in.rdbuf();
      return ParseMeminfo(text.str());
    }
    if (device.rfind("cuda:", 0) != 0 || device.size() == 5) {
      return InvalidArgumentError("unknown device '" + device + "'; use cpu or cuda:N");
    }
    char* end = nullptr;
    const long index = std::strtol(device.c_str() + 5, &end, 10);
    if (*end != '\0' || index < 0) {
      return InvalidArgumentError("unknown device '" + device + "'; use cpu or cuda:N");
    }
    Nvml& nvml = Nvml::Get();
    if (nvml.ok()) return nvml.Memory(static_cast<unsigned int>(index));
    StatusOr<DeviceMemory> smi = NvidiaSmiMemory(static_cast<unsigned int>(index));
    if (smi.ok()) return smi;
    return FailedPreconditionError("cannot measure the memory of " + device + ": " + nvml.error() +
                                   "; and " + smi.status().message());
  }

 private:
  std::string meminfo_path_;
};

}  // namespace

StatusOr<DeviceMemory> ParseMeminfo(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  int64_t total_kb = -1, available_kb = -1;
  while (std::getline(in, line)) {
    long long kb = 0;
    if (std::sscanf(line.c_str(), "MemTotal: %lld kB", &kb) == 1) total_kb = kb;
    if (std::sscanf(line.c_str(), "MemAvailable: %lld kB", &kb) == 1) available_kb = kb;
  }
  if (total_kb < 0 || available_kb < 0) {
    return InvalidArgumentError("meminfo lacks MemTotal or MemAvailable (kernel older than 3.14?)");
  }
  return DeviceMemory{total_kb * 1024, available_kb * 1024, "meminfo"};
}

std::unique_ptr<DeviceProbe> MakeSystemDeviceProbe(std::string meminfo_path) {
  return std::make_unique<SystemDeviceProbe>(std::move(meminfo_path));
}

}  // namespace lcsweep::agent
