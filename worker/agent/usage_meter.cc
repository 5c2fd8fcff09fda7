#include "worker/agent/usage_meter.h"

#include <sys/resource.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace lcsweep::agent {
namespace {

namespace fs = std::filesystem;

double ProcessCpuSeconds() {
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(ru.ru_utime) + seconds(ru.ru_stime);
}

int64_t PeakRssBytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      std::istringstream fields(line.substr(6));
      int64_t kib = 0;
      fields >> kib;
      return kib * 1024;
    }
  }
  return 0;
}

void ResetPeakRss() {
  // Linux >= 4.0; without the right to write it the peak stays the process's.
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
}

std::optional<int64_t> ReadInt(const fs::path& path) {
  std::ifstream in(path);
  int64_t v = 0;
  if (!(in >> v)) return std::nullopt;
  return v;
}

// RAPL package counters: energy_uj wraps at max_energy_range_uj, so each
// domain keeps its own running total across wraps.
class RaplEnergy final : public EnergySource {
 public:
  struct Domain {
    fs::path energy;
    int64_t range_uj = 0;
    int64_t last_uj = 0;
    double total_j = 0;
  };
  explicit RaplEnergy(std::vector<Domain> domains) : domains_(std::move(domains)) {}

  std::optional<double> ReadJoules() override {
    double sum = 0;
    for (Domain& d : domains_) {
      const std::optional<int64_t> uj = ReadInt(d.energy);
      if (!uj) return std::nullopt;
      int64_t delta = *uj - d.last_uj;
      if (delta < 0) delta += d.range_uj;  // wrapped once since the last read
      d.total_j += static_cast<double>(delta) / 1e6;
      d.last_uj = *uj;
      sum += d.total_j;
    }
    return sum;
  }
  const char* name() const override { return "rapl"; }

 private:
  std::vector<Domain> domains_;
};

}  // namespace

std::unique_ptr<EnergySource> OpenRaplEnergy(const std::string& root) {
  std::vector<RaplEnergy::Domain> domains;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(root, ec)) {
    const std::string name = e.path().filename().string();
    // "intel-rapl:0" is a package; "intel-rapl:0:1" one of its parts.
    if (name.rfind("intel-rapl:", 0) != 0 || name.find(':', 11) != std::string::npos) continue;
    RaplEnergy::Domain d;
    d.energy = e.path() / "energy_uj";
    const std::optional<int64_t> now = ReadInt(d.energy);
    const std::optional<int64_t> range = ReadInt(e.path() / "max_energy_range_uj");
    if (!now || !range || *range <= 0) continue;  // not readable (often root only)
    d.last_uj = *now;
    d.range_uj = *range;
    domains.push_back(std::move(d));
  }
  if (domains.empty()) return nullptr;
  std::sort(domains.begin(), domains.end(),
            [](const auto& a, const auto& b) { return a.energy < b.energy; });
  return std::make_unique<RaplEnergy>(std::move(domains));
}

UsageProbes SystemUsageProbes() {
  UsageProbes p;
  p.process_cpu_seconds = ProcessCpuSeconds;
  p.peak_rss_bytes = PeakRssBytes;
  p.reset_peak_rss = ResetPeakRss;
  p.now = [] { return std::chrono::steady_clock::now(); };
  p.energy = OpenRaplEnergy();
  return p;
}

std::string CpuModelName() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) break;
    std::string name = line.substr(colon + 1);
    name.erase(0, name.find_first_not_of(" \t"));
    if (!name.empty()) return name.substr(0, 200);
  }
  return "cpu";
}

UsageMeter::UsageMeter(UsageProbes probes) : probes_(std::move(probes)) {
  last_cpu_ = probes_.process_cpu_seconds();
  if (probes_.energy) last_energy_ = probes_.energy->ReadJoules();
}

void UsageMeter::AdvanceLocked() {
  const double cpu = probes_.process_cpu_seconds();
  const double cpu_delta = std::max(0.0, cpu - last_cpu_);
  last_cpu_ = cpu;
  std::optional<double> energy_delta;
  if (probes_.energy) {
    const std::optional<double> energy = probes_.energy->ReadJoules();
    if (energy && last_energy_) energy_delta = std::max(0.0, *energy - *last_energy_);
    last_energy_ = energy;
  }
  if (open_.empty()) return;  // idle time between attempts is charged to none
  const double share = 1.0 / static_cast<double>(open_.size());
  const int64_t peak = probes_.peak_rss_bytes();
  for (Account* a : open_) {
    a->usage_.cpu_seconds += cpu_delta * share;
    if (energy_delta) {
      a->usage_.energy_joules += *energy_delta * share;
      a->usage_.energy_source = probes_.energy->name();
    }
    a->usage_.peak_host_bytes = std::max(a->usage_.peak_host_bytes, peak);
  }
}

std::unique_ptr<UsageMeter::Account> UsageMeter::Open(const std::string& device_kind,
                                                      const std::string& device_model) {
  std::lock_guard<std::mutex> lock(mu_);
  AdvanceLocked();  // what ran before belongs to the attempts open before
  if (open_.empty()) probes_.reset_peak_rss();
  std::unique_ptr<Account> account(new Account(this, device_kind, device_model));
  open_.insert(account.get());
  return account;
}

UsageMeter::Account::Account(UsageMeter* meter, std::string device_kind, std::string device_model)
    : meter_(meter), opened_(meter->probes_.now()) {
  usage_.device_kind = std::move(device_kind);
  usage_.device_model = std::move(device_model);
}

UsageMeter::Account::~Account() {
  std::lock_guard<std::mutex> lock(meter_->mu_);
  meter_->AdvanceLocked();
  meter_->open_.erase(this);
}

void UsageMeter::Account::SetImages(int64_t images) {
  std::lock_guard<std::mutex> lock(meter_->mu_);
  usage_.images = std::max(usage_.images, images);
}

void UsageMeter::Account::SetPeakDeviceBytes(int64_t bytes) {
  std::lock_guard<std::mutex> lock(meter_->mu_);
  usage_.peak_device_bytes = std::max(usage_.peak_device_bytes, bytes);
}

ResourceUsage UsageMeter::Account::Snapshot() {
  std::lock_guard<std::mutex> lock(meter_->mu_);
  meter_->AdvanceLocked();
  ResourceUsage out = usage_;
  out.wall_seconds =
      std::chrono::duration<double>(meter_->probes_.now() - opened_).count();
  if (out.device_kind == "cuda") out.gpu_seconds = out.wall_seconds;
  return out;
}

}  // namespace lcsweep::agent
