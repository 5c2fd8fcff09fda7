// UsageMeter with fake probes (the process's CPU time, its peak RSS, the
// clock and an energy counter set by the test), and the RAPL reader on a
// sysfs tree written by the test.
#include "worker/agent/usage_meter.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace lcsweep::agent {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

class FakeEnergy final : public EnergySource {
 public:
  std::optional<double> ReadJoules() override { return joules; }
  const char* name() const override { return "rapl"; }
  double joules = 1000;
};

struct Fakes {
  double cpu = 10;
  int64_t rss = 100;
  int resets = 0;
  Clock::time_point now = Clock::time_point() + std::chrono::hours(1);
  std::shared_ptr<FakeEnergy> energy = std::make_shared<FakeEnergy>();

  UsageProbes Probes() {
    UsageProbes p;
    p.process_cpu_seconds = [this] { return cpu; };
    p.peak_rss_bytes = [this] { return rss; };
    p.reset_peak_rss = [this] { ++resets; };
    p.now = [this] { return now; };
    p.energy = energy;
    return p;
  }
};

TEST(UsageMeterTest, OneAttemptIsChargedExactlyWhatTheProcessUsedWhileItRan) {
  Fakes f;
  UsageMeter meter(f.Probes());
  f.cpu += 5;  // before the attempt: charged to no one
  f.energy->joules += 50;
  auto a = meter.Open("cpu", "Test CPU");
  EXPECT_EQ(f.resets, 1);
  f.cpu += 2.5;
  f.energy->joules += 30;
  f.now += std::chrono::milliseconds(4000);
  f.rss = 700;
  a->SetImages(1280);
  const ResourceUsage u = a->Snapshot();
  EXPECT_DOUBLE_EQ(u.cpu_seconds, 2.5);
  EXPECT_DOUBLE_EQ(u.wall_seconds, 4.0);
  EXPECT_DOUBLE_EQ(u.energy_joules, 30);
  EXPECT_EQ(u.energy_source, "rapl");
  EXPECT_EQ(u.images, 1280);
  EXPECT_EQ(u.peak_host_bytes, 700);
  EXPECT_EQ(u.gpu_seconds, 0);
  EXPECT_EQ(u.device_model, "Test CPU");
  // Later snapshots accumulate; images never go back.
  f.cpu += 1;
  a->SetImages(10);
  EXPECT_DOUBLE_EQ(a->Snapshot().cpu_seconds, 3.5);
  EXPECT_EQ(a->Snapshot().images, 1280);
}

TEST(UsageMeterTest, OverlappingAttemptsSplitEachIntervalEquallyAndSumToTheProcess) {
  Fakes f;
  UsageMeter meter(f.Probes());
  auto a = meter.Open("cuda", "GPU");
  f.cpu += 4;                        // a alone
  auto b = meter.Open("cpu", "CPU");
  EXPECT_EQ(f.resets, 1) << "the peak is reset only when no attempt is open";
  f.cpu += 6;                        // a and b: 3 each
  f.now += std::chrono::seconds(2);
  const ResourceUsage ua = a->Snapshot();
  const ResourceUsage ub = b->Snapshot();
  EXPECT_DOUBLE_EQ(ua.cpu_seconds, 7);
  EXPECT_DOUBLE_EQ(ub.cpu_seconds, 3);
  a.reset();
  f.cpu += 2;                        // b alone again
  EXPECT_DOUBLE_EQ(b->Snapshot().cpu_seconds, 5);
  EXPECT_DOUBLE_EQ(ua.cpu_seconds + 5, 12) << "the process's 12 CPU-s, each charged once";
  EXPECT_DOUBLE_EQ(ua.gpu_seconds, 2) << "a cuda attempt holds its GPU all along";
  EXPECT_DOUBLE_EQ(ub.gpu_seconds, 0);
}

TEST(UsageMeterTest, WithoutAnEnergyCounterNoEnergyIsClaimed) {
  Fakes f;
  UsageProbes probes = f.Probes();
  probes.energy = nullptr;
  UsageMeter meter(probes);
  auto a = meter.Open("cpu", "CPU");
  f.cpu += 1;
  const ResourceUsage u = a->Snapshot();
  EXPECT_EQ(u.energy_source, "");
  EXPECT_EQ(u.energy_joules, 0);
}

void WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

TEST(RaplEnergyTest, SumsPackagesLeavesOutTheirPartsAndSurvivesAWrap) {
  const fs::path root = fs::temp_directory_path() / "lcsweep-rapl-test";
  fs::remove_all(root);
  WriteFile(root / "intel-rapl:0/energy_uj", "900000000\n");  // 900 J, range 1000 J
  WriteFile(root / "intel-rapl:0/max_energy_range_uj", "1000000000\n");
  WriteFile(root / "intel-rapl:1/energy_uj", "5000000\n");
  WriteFile(root / "intel-rapl:1/max_energy_range_uj", "1000000000\n");
  WriteFile(root / "intel-rapl:0:0/energy_uj", "123\n");  // core domain: part of package 0
  WriteFile(root / "intel-rapl:0:0/max_energy_range_uj", "1000000000\n");
  std::unique_ptr<EnergySource> rapl = OpenRaplEnergy(root.string());
  ASSERT_NE(rapl, nullptr);
  const double start = rapl->ReadJoules().value();
  WriteFile(root / "intel-rapl:0/energy_uj", "50000000\n");   // wrapped: +150 J
  WriteFile(root / "intel-rapl:1/energy_uj", "7000000\n");    // +2 J
  WriteFile(root / "intel-rapl:0:0/energy_uj", "999999999\n");  // ignored
  EXPECT_NEAR(rapl->ReadJoules().value() - start, 152.0, 1e-9);
  fs::remove_all(root);
  EXPECT_EQ(OpenRaplEnergy(root.string()), nullptr) << "no readable domain: no source";
}

}  // namespace
}  // namespace lcsweep::agent
