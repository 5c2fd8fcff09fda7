// DevicePacker against a fake device: jobs of random sizes arrive, start
// allocating some time after admission (what a measurement cannot see yet)
// and end; the packer must never admit more than the device holds, with or
// without memory taken by someone else, from one thread or from many.
#include "worker/agent/packer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

namespace lcsweep::agent {
namespace {

constexpr int64_t kMiB = 1024 * 1024;

// A device whose free memory is total - (what jobs allocated so far) - foreign.
class FakeDevice : public DeviceProbe {
 public:
  explicit FakeDevice(int64_t total) : total_(total) {}
  StatusOr<DeviceMemory> Probe(const std::string& device) override {
    if (device != "cuda:0") return FailedPreconditionError("no such device");
    return DeviceMemory{total_, total_ - allocated_.load() - foreign_.load(), "fake"};
  }
  void Allocate(int64_t bytes) { allocated_ += bytes; }
  void SetForeign(int64_t bytes) { foreign_ = bytes; }
  int64_t used() const { return allocated_.load() + foreign_.load(); }
  int64_t total() const { return total_; }

 private:
  const int64_t total_;
  std::atomic<int64_t> allocated_{0};
  std::atomic<int64_t> foreign_{0};
};

struct Running {
  int64_t id = 0, estimate = 0, allocated = 0;
};

TEST(DevicePackerTest, RandomJobsNeverOverCommitTheDevice) {
  std::mt19937_64 rng(18);
  for (int trial = 0; trial < 200; ++trial) {
    FakeDevice device(int64_t{80} * 1024 * kMiB);
    const int64_t reserve = static_cast<int64_t>(rng() % 4096) * kMiB;
    DevicePacker packer(&device, reserve);
    std::vector<Running> running;
    int64_t next_id = 1;
    for (int event = 0; event < 300; ++event) {
      const int kind = static_cast<int>(rng() % 4);
      if (kind == 0 && !running.empty()) {  // a job ends and frees what it allocated
        const size_t i = rng() % running.size();
        device.Allocate(-running[i].allocated);
        packer.Remove(running[i].id);
        running.erase(running.begin() + static_cast<std::ptrdiff_t>(i));
      } else if (kind == 1 && !running.empty()) {  // a job allocates (up to its estimate)
        Running& r = running[rng() % running.size()];
        const int64_t more = r.estimate - r.allocated;
        device.Allocate(more);
        r.allocated += more;
      } else if (kind == 2) {  // another process comes or goes
        device.SetForeign(static_cast<int64_t>(rng() % 20) * 1024 * kMiB * (rng() % 3 == 0));
      } else {  // a job of 1 MiB .. 30 GiB asks to run
        const int64_t estimate = static_cast<int64_t>(1 + rng() % (30 * 1024)) * kMiB;
        const int64_t free_before = device.total() - device.used();
        const bool admitted = packer.TryAdmit("cuda:0", next_id, estimate);
        if (admitted) {
          EXPECT_LE(estimate + reserve, free_before) << "admitted beyond the measured free memory";
          running.push_back({next_id, estimate, 0});
        }
        ++next_id;
      }
      int64_t admitted_sum = 0;
      for (const Running& r : running) admitted_sum += r.estimate;
      ASSERT_EQ(packer.Admitted("cuda:0"), admitted_sum);
      ASSERT_LE(admitted_sum + reserve, device.total()) << "trial " << trial << " event " << event;
    }
  }
}

TEST(DevicePackerTest, ConcurrentSlotsCannotBothCountOnTheSameMemory) {
  for (int trial = 0; trial < 20; ++trial) {
    FakeDevice device(int64_t{10} * 1024 * kMiB);
    DevicePacker packer(&device, 512 * kMiB);
    std::atomic<int64_t> ids{1};
    std::atomic<bool> violated{false};
    std::mutex mu;
    int64_t admitted_sum = 0;  // under mu
    std::vector<std::thread> slots;
    for (int s = 0; s < 8; ++s) {
      slots.emplace_back([&, s] {
        std::mt19937_64 rng(static_cast<uint64_t>(trial * 100 + s));
        for (int i = 0; i < 200; ++i) {
          const int64_t id = ids++;
          const int64_t estimate = static_cast<int64_t>(1 + rng() % 3000) * kMiB;
          if (!packer.TryAdmit("cuda:0", id, estimate)) continue;
          {
            std::lock_guard<std::mutex> lock(mu);
            admitted_sum += estimate;
            if (admitted_sum + 512 * kMiB > device.total()) violated = true;
          }
          std::this_thread::yield();  // runs a while without allocating
          {
            std::lock_guard<std::mutex> lock(mu);
            admitted_sum -= estimate;
          }
          packer.Remove(id);
        }
      });
    }
    for (auto& t : slots) t.join();
    EXPECT_FALSE(violated) << "trial " << trial;
    EXPECT_EQ(packer.Admitted("cuda:0"), 0);
  }
}

TEST(DevicePackerTest, AnUnmeasurableDeviceOffersNothing) {
  FakeDevice device(int64_t{10} * 1024 * kMiB);
  DevicePacker packer(&device, 0);
  EXPECT_EQ(packer.Offer("cuda:7"), 0);
  EXPECT_FALSE(packer.TryAdmit("cuda:7", 1, kMiB));
  EXPECT_TRUE(packer.TryAdmit("cuda:0", 2, kMiB));
}

}  // namespace
}  // namespace lcsweep::agent
