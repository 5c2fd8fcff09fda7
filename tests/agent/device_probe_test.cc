// SystemDeviceProbe: /proc/meminfo parsing, a meminfo file standing in for
// the kernel's, the real /proc/meminfo, and the error for a GPU nothing can
// measure (this build machine has neither NVML nor nvidia-smi).
#include "worker/agent/device_probe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace lcsweep::agent {
namespace {

using ::testing::HasSubstr;

constexpr char kMeminfo[] =
    "MemTotal:       16314476 kB\n"
    "MemFree:          512000 kB\n"
    "MemAvailable:    8157238 kB\n"
    "Buffers:          123456 kB\n";

TEST(DeviceProbeTest, ParsesMemTotalAndMemAvailable) {
  StatusOr<DeviceMemory> m = ParseMeminfo(kMeminfo);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->total_bytes, int64_t{16314476} * 1024);
  EXPECT_EQ(m->free_bytes, int64_t{8157238} * 1024);  // MemAvailable, not MemFree
  EXPECT_EQ(m->source, "meminfo");
}

TEST(DeviceProbeTest, MeminfoWithoutMemAvailableIsAnError) {
  StatusOr<DeviceMemory> m = ParseMeminfo("MemTotal: 100 kB\nMemFree: 50 kB\n");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(m.status().message(), HasSubstr("MemAvailable"));
}

TEST(DeviceProbeTest, CpuProbeReadsTheMeminfoFileItIsGiven) {
  const auto path = std::filesystem::temp_directory_path() / "lcsweep-probe-meminfo";
  std::ofstream(path) << kMeminfo;
  auto probe = MakeSystemDeviceProbe(path.string());
  StatusOr<DeviceMemory> m = probe->Probe("cpu");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->free_bytes, int64_t{8157238} * 1024);
  std::filesystem::remove(path);
}

TEST(DeviceProbeTest, RealMeminfoHasFreeMemoryBelowTotal) {
  auto probe = MakeSystemDeviceProbe();
  StatusOr<DeviceMemory> m = probe->Probe("cpu");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_GT(m->free_bytes, 0);
  EXPECT_LE(m->free_bytes, m->total_bytes);
}

TEST(DeviceProbeTest, UnknownDeviceNamesAreRefused) {
  auto probe = MakeSystemDeviceProbe();
  for (const char* name : {"gpu0", "cuda:", "cuda:x", "cuda:-1"}) {
    StatusOr<DeviceMemory> m = probe->Probe(name);
    ASSERT_FALSE(m.ok()) << name;
    EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument) << name;
  }
}

TEST(DeviceProbeTest, AGpuNothingCanMeasureSaysWhy) {
  auto probe = MakeSystemDeviceProbe();
  StatusOr<DeviceMemory> m = probe->Probe("cuda:0");
  if (m.ok()) GTEST_SKIP() << "this machine has a measurable GPU (" << m->source << ")";
  EXPECT_EQ(m.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(m.status().message(), HasSubstr("libnvidia-ml.so.1"));
  EXPECT_THAT(m.status().message(), HasSubstr("nvidia-smi"));
}

}  // namespace
}  // namespace lcsweep::agent
