// WorkerMetrics through its decorators: a scripted runner reports progress
// while the test reads the exposition text, so each gauge is checked while
// the job runs and after it ended; the heartbeat age follows a fake clock.
#include "worker/agent/worker_metrics.h"

#include <cmath>
#include <functional>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/agent/fake_coordinator_client.h"

namespace lcsweep::agent {
namespace {

std::map<std::string, double> Scrape(const MetricsRegistry& r) {
  std::map<std::string, double> out;
  std::istringstream in(r.Expose());
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

// Runs `body` with the observer, then returns `outcome`.
class ScriptedRunner final : public JobRunner {
 public:
  std::function<void(JobObserver*)> body;
  JobRun::Outcome outcome = JobRun::Outcome::kSucceeded;
  JobRun Run(const JobContext&, JobObserver* observer) override {
    body(observer);
    JobRun r;
    r.outcome = outcome;
    return r;
  }
};

// Records the progress the decorator forwarded.
class RecordingObserver final : public JobObserver {
 public:
  std::vector<ProgressReport> progress;
  void Record(std::vector<MetricSample>) override {}
  void SetProgress(const ProgressReport& p) override { progress.push_back(p); }
  void CheckpointSaved(const std::string&, int64_t, int64_t) override {}
  StopRequest ShouldStop() override { return StopRequest::kContinue; }
};

std::chrono::steady_clock::time_point g_now{};
std::chrono::steady_clock::time_point FakeNow() { return g_now; }

JobContext Context(int64_t job_id, const std::string& device) {
  JobContext c;
  c.lease.job_id = job_id;
  c.device = device;
  return c;
}

ProgressReport Progress(double images_per_second) {
  ProgressReport p;
  p.step = 1;
  p.metrics["train.images_per_second"] = images_per_second;
  return p;
}

TEST(WorkerMetricsTest, RunningJobsAndThroughputPerDeviceWhileJobsRun) {
  MetricsRegistry registry;
  WorkerMetrics metrics(&registry, &FakeNow);
  ScriptedRunner inner_a, inner_b;
  MeteredRunner a(&inner_a, &metrics), b(&inner_b, &metrics);
  RecordingObserver obs;
  std::map<std::string, double> during_both, during_one;
  inner_a.body = [&](JobObserver* o) {
    o->SetProgress(Progress(100));
    // Job b runs on the same device while a is still running.
    inner_b.body = [&](JobObserver* ob) {
      ob->SetProgress(Progress(50));
      during_both = Scrape(registry);
    };
    inner_b.outcome = JobRun::Outcome::kFailed;
    b.Run(Context(2, "cpu"), &obs);
    during_one = Scrape(registry);
  };
  a.Run(Context(1, "cpu"), &obs);
  const auto after = Scrape(registry);

  EXPECT_EQ(during_both.at("lcsweep_worker_jobs_running"), 2);
  EXPECT_EQ(during_both.at("lcsweep_worker_images_per_second{device=\"cpu\"}"), 150);
  EXPECT_EQ(during_one.at("lcsweep_worker_jobs_running"), 1);
  EXPECT_EQ(during_one.at("lcsweep_worker_images_per_second{device=\"cpu\"}"), 100);
  EXPECT_EQ(after.at("lcsweep_worker_jobs_running"), 0);
  EXPECT_EQ(after.at("lcsweep_worker_images_per_second{device=\"cpu\"}"), 0);
  EXPECT_EQ(after.at("lcsweep_worker_jobs_finished_total{outcome=\"succeeded\"}"), 1);
  EXPECT_EQ(after.at("lcsweep_worker_jobs_finished_total{outcome=\"failed\"}"), 1);
  ASSERT_EQ(obs.progress.size(), 2u) << "the decorator must forward progress";
  EXPECT_EQ(obs.progress[0].metrics.at("train.images_per_second"), 100);  // a reported first
  EXPECT_EQ(obs.progress[1].metrics.at("train.images_per_second"), 50);
}

TEST(WorkerMetricsTest, HeartbeatAgeCountsFromTheLastAcceptedHeartbeat) {
  MetricsRegistry registry;
  WorkerMetrics metrics(&registry, &FakeNow);
  FakeCoordinatorClient fake;
  MeteredClient client(&fake, &metrics);
  g_now = std::chrono::steady_clock::time_point{} + std::chrono::seconds(100);
  EXPECT_TRUE(std::isnan(Scrape(registry).at("lcsweep_worker_last_heartbeat_age_seconds")));
  ASSERT_TRUE(client.Heartbeat(1, "t", ProgressReport{}, ResourceUsage{}).ok());
  g_now += std::chrono::seconds(7);
  EXPECT_EQ(Scrape(registry).at("lcsweep_worker_last_heartbeat_age_seconds"), 7);
  EXPECT_EQ(fake.heartbeats(), 1) << "the call reached the wrapped client";
}

TEST(WorkerMetricsTest, DeviceMemoryIsWhatTheRegistrationAndHeartbeatsMeasured) {
  MetricsRegistry registry;
  WorkerMetrics metrics(&registry, &FakeNow);
  FakeCoordinatorClient fake;
  MeteredClient client(&fake, &metrics);
  WorkerRegistration reg;
  reg.name = "w";
  reg.devices = {{"cpu", "cpu", 16, 10, "CPU"}, {"cuda", "cuda:0", 80, 0, "GPU"}};
  ASSERT_TRUE(client.Register(reg).ok());
  auto scraped = Scrape(registry);
  EXPECT_EQ(scraped.at("lcsweep_worker_device_memory_total_bytes{device=\"cpu\"}"), 16.0 * (1 << 30));
  EXPECT_EQ(scraped.at("lcsweep_worker_device_memory_free_bytes{device=\"cpu\"}"), 10.0 * (1 << 30));
  EXPECT_EQ(scraped.at("lcsweep_worker_device_memory_total_bytes{device=\"cuda:0\"}"), 80.0 * (1 << 30));
  EXPECT_EQ(scraped.count("lcsweep_worker_device_memory_free_bytes{device=\"cuda:0\"}"), 0u)
      << "free memory nothing measured is not claimed";
  ProgressReport progress;
  progress.devices = {{"cuda", "cuda:0", 80, 12.5, "GPU"}};
  ASSERT_TRUE(client.Heartbeat(1, "t", progress, ResourceUsage{}).ok());
  scraped = Scrape(registry);
  EXPECT_EQ(scraped.at("lcsweep_worker_device_memory_free_bytes{device=\"cuda:0\"}"), 12.5 * (1 << 30));
}

}  // namespace
}  // namespace lcsweep::agent
