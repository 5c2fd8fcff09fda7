// Agent and JobSession against a fake coordinator and scripted runners: the
// order of calls (metrics before checkpoints, final flush before complete),
// cancellation, stale tokens, drains, outages and fatal registration errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "tests/agent/fake_coordinator_client.h"
#include "worker/agent/agent.h"

namespace lcsweep::agent {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// A runner whose behaviour is a function of the observer.
class ScriptedRunner : public JobRunner {
 public:
  explicit ScriptedRunner(std::function<JobRun(const JobContext&, JobObserver*)> script)
      : script_(std::move(script)) {}
  JobRun Run(const JobContext& context, JobObserver* observer) override {
    return script_(context, observer);
  }

 private:
  std::function<JobRun(const JobContext&, JobObserver*)> script_;
};

LeaseGrant Grant(int64_t id) {
  LeaseGrant g;
  g.job_id = id;
  g.attempt = 1;
  g.token = "tok-" + std::to_string(id);
  g.config_json = "{}";
  g.heartbeat_interval_ms = 20;
  return g;
}

AgentOptions Options(bool once) {
  AgentOptions o;
  o.registration.name = "test-worker";
  o.slot_devices = {"cpu"};
  o.work_dir = (std::filesystem::temp_directory_path() / "lcsweep-agent-test").string();
  o.lease_wait_seconds = 0;
  o.once = once;
  return o;
}

// Trains `steps` steps, one metric each, a checkpoint after step 3.
JobRun TrainSteps(JobObserver* observer, int steps, int sleep_ms = 0) {
  for (int s = 1; s <= steps; ++s) {
    switch (observer->ShouldStop()) {
      case StopRequest::kCancel: return {JobRun::Outcome::kCancelled, "", "", false, ""};
      case StopRequest::kDrain:
        observer->CheckpointSaved("/tmp/ckpt", 0, s - 1);
        return {JobRun::Outcome::kDrained, "", "", false, ""};
      case StopRequest::kContinue: break;
    }
    observer->Record({{"train.loss", 1.0 / s, s, 0, 0}});
    observer->SetProgress({0, s, {{"train.loss", 1.0 / s}}, 100 * s});
    if (s == 3) observer->CheckpointSaved("/tmp/ckpt", 0, 3);
    if (sleep_ms) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
  }
  return {JobRun::Outcome::kSucceeded, R"({"ok":true})", "", false, ""};
}

TEST(AgentTest, CompletesAJobWithEveryMetricStoredBeforeCompletion) {
  FakeCoordinatorClient client;
  client.leases.push_back(Grant(1));
  ScriptedRunner runner([](const JobContext&, JobObserver* o) { return TrainSteps(o, 5); });
  StopSignal stop;
  Agent agent(&client, &runner, &stop, Options(/*once=*/true));
  ASSERT_TRUE(agent.Run().ok());
  const auto calls = client.calls();
  // Points measured before the checkpoint are stored before it is uploaded.
  EXPECT_THAT(calls, Contains("upload 0 3 after 3 points"));
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.back(), R"(complete 1 {"ok":true})");
  ASSERT_EQ(client.stored().size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(client.stored()[i].step, i + 1);
  EXPECT_EQ(agent.stats().ends.at(SessionEnd::kCompleted), 1);
}

// A succeeded run's model file is uploaded after the last metrics and
// before the completion, while the lease is live.
TEST(AgentTest, TheModelIsUploadedBeforeTheCompletion) {
  FakeCoordinatorClient client;
  client.leases.push_back(Grant(1));
  ScriptedRunner runner([](const JobContext& c, JobObserver* o) {
    JobRun run = TrainSteps(o, 2);
    run.model_path = c.work_dir + "/model.pt";
    std::ofstream(run.model_path) << "0123456789";
    return run;
  });
  StopSignal stop;
  Agent agent(&client, &runner, &stop, Options(/*once=*/true));
  ASSERT_TRUE(agent.Run().ok());
  const auto calls = client.calls();
  ASSERT_GE(calls.size(), 2u);
  EXPECT_EQ(calls[calls.size() - 2], "model 10");
  EXPECT_EQ(calls.back(), R"(complete 1 {"ok":true})");
}

// A model the coordinator refuses (e.g. its disk is full) is logged; the
// job still completes with its result.
TEST(AgentTest, AFailedModelUploadStillCompletesTheJob) {
  FakeCoordinatorClient client;
  client.leases.push_back(Grant(1));
  client.model_upload_error = ResourceExhaustedError("disk full");
  ScriptedRunner runner([](const JobContext& c, JobObserver* o) {
    JobRun run = TrainSteps(o, 2);
    run.model_path = c.work_dir + "/model.pt";
    std::ofstream(run.model_path) << "x";
    return run;
  });
  StopSignal stop;
  Agent agent(&client, &runner, &stop, Options(/*once=*/true));
  ASSERT_TRUE(agent.Run().ok());
  EXPECT_THAT(client.calls(), Contains("model 1"));
  EXPECT_EQ(client.calls().back(), R"(complete 1 {"ok":true})");
  EXPECT_EQ(agent.stats().ends.at(SessionEnd::kCompleted), 1);
}

TEST(AgentTest, OutageDelaysButNeverLosesOrDuplicatesMetrics) {
  FakeCoordinatorClient client;
  client.leases.push_back(Grant(2));
  client.unavailable_reports = 4;
  ScriptedRunner runner([](const JobContext&, JobObserver* o) { return TrainSteps(o, 8, 5); });
  StopSignal stop;
  Agent agent(&client, &runner, &stop, Options(true));
  ASSERT_TRUE(agent.Run().ok());
  const auto stored = client.stored();
  ASSERT_EQ(stored.size(), 8u);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(stored[i].step, i + 1) << "points out of order or repeated";
  EXPECT_THAT(client.calls().back(), HasSubstr("complete 2"));
}

// A report the coordinator stored but whose reply was lost is resent exactly
// as it was (same seq, same points), while later points go in later reports;
// the fake stores per seq like the coordinator, so nothing is stored twice.
TEST(AgentTest, AReportWhoseReplyWasLostIsResentWithItsSeqAndPoints) {
  FakeCoordinatorClient client;
  client.leases.push_back(Grant(2));
  client.lost_replies = 3;
  ScriptedRunner runner([](const JobContext&, JobObserver* o) { return TrainSteps(o, 8, 5); });
  StopSignal stop;
  Agent agent(&client, &runner, &stop, Options(true));
  ASSERT_TRUE(agent.Run().ok());
  const auto sent = client.sent();
  ASSERT_GE(sent.size(), 4u);
  // The first three calls were stored and then "failed": each was resent
  // with the same seq and the same points.
  EXPECT_EQ(sent[0].seq, 1);
  for (int i = 1; i <= 3; ++i) {
    EXPECT_EQ(sent[i].seq, sent[0].seq) << "resend " << i;
    ASSERT_EQ(sent[i].points.size(), sent[0].points.size()) << "resend " << i;
    for (size_t k = 0; k < sent[0].points.size(); ++k)
      EXPECT_EQ(sent[i].points[k].step, sent[0].points[k].step);
  }
  // Seqs only move on after an acknowledgement, one at a time.
  for (size_t i = 1; i < sent.size(); ++i)
    EXPECT_TRUE(sent[i].seq == sent[i - 1].seq || sent[i].seq == sent[i - 1].seq + 1) << i;
  const auto stored = client.stored();
  ASSERT_EQ(stored.size(), 8u);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(stored[i].step, i + 1) << "points out of order or repeated";
}

// The coordinator refuses the points for good (its disk is full) but would
// accept the small completion: completing would leave the job succeeded with
// its series missing steps. The session gives the job back instead.
TEST(AgentTest, UndeliveredMetricsAreNeverFollowedByACompletion) {
  FakeCoordinatorClient client;
  client.leases.push_back(Grant(3));
  client.disk_full_reports = true;
  ScriptedRunner runner([](const JobContext&, JobObserver* o) { return TrainSteps(o, 5); });
  StopSignal stop;
  Agent agent(&client, &runner, &stop, Options(/*once=*/true));
  ASSERT_TRUE(agent.Run().ok());
  const auto calls = client.calls();
  EXPECT_THAT(calls, Not(Contains(HasSubstr("complete"))));
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.back(), "release 3");
  EXPECT_TRUE(client.stored().empty());
  EXPECT_EQ(agent.stats().ends.at(SessionEnd::kReleased), 1);
}

TEST(AgentTest, CancelFromHeartbeatStopsTheJobWithoutCompleting) {
  FakeCoordinatorClient client;
  client.leases.push_back(Grant(3));
  client.cancel_on_heartbeat = true;
  std::atomic<int> steps_run{0};
  ScriptedRunner runner([&](const JobContext&, JobObserver* o) {
    for (int s = 0; s < 2000; ++s) {
      if (o->ShouldStop() == StopRequest::kCancel) return JobRun{JobRun::Outcome::kCancelled, "", "", false, ""};
      ++steps_run;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return JobRun{JobRun::Outcome::kSucceeded, "{}", "", false, ""};
  });
  StopSignal stop;
  Agent agent(&client, &runner, &stop, Options(true));
  ASSERT_TRUE(agent.Run().ok());
  EXPECT_LT(steps_run.load(), 2000) << "the runner never saw the cancel";
  EXPECT_EQ(agent.stats().ends.at(SessionEnd::kCancelled), 1);
  for (const auto& c : client.calls()) {
    EXPECT_THAT(c, Not(HasSubstr("complete")));
    EXPECT_THAT(c, Not(HasSubstr("fail")));
  }
}

TEST(AgentTest, StaleTokenAbandonsTheJobAndWritesNothingMore) {
  FakeCoordinatorClient client;
  client.leases.push_back(Grant(4));
  client.stale_token = true;
  ScriptedRunner runner([](const JobContext&, JobObserver* o) { return TrainSteps(o, 200, 2); });
  StopSignal stop;
  Agent agent(&client, &runner, &stop, Options(true));
  ASSERT_TRUE(agent.Run().ok());
  EXPECT_EQ(agent.stats().ends.at(SessionEnd::kAbandoned), 1);
  EXPECT_TRUE(client.stored().empty());
  for (const auto& c : client.calls()) {
    EXPECT_THAT(c, Not(HasSubstr("complete")));
    EXPECT_THAT(c, Not(HasSubstr("release")));
    EXPECT_THAT(c, Not(HasSubstr("upload")));
  }
}

TEST(AgentTest, DrainCheckpointsUploadsAndReleases) {
  FakeCoordinatorClient client;
  client.leases.push_back(Grant(5));
  StopSignal stop;
  ScriptedRunner runner([&](const JobContext&, JobObserver* o) {
    for (int s = 1;; ++s) {
      if (s == 10) stop.Drain();
      if (o->ShouldStop() == StopRequest::kDrain) {
        o->CheckpointSaved("/tmp/ckpt", 0, s - 1);
        return JobRun{JobRun::Outcome::kDrained, "", "", false, ""};
      }
      o->Record({{"train.loss", 1.0, s, 0, 0}});
    }
  });
  Agent agent(&client, &runner, &stop, Options(false));
  ASSERT_TRUE(agent.Run().ok());
  const auto calls = client.calls();
  EXPECT_THAT(calls, Contains("upload 0 9 after 9 points"));
  EXPECT_EQ(calls.back(), "release 5");
  EXPECT_EQ(agent.stats().ends.at(SessionEnd::kReleased), 1);
}

TEST(AgentTest, FailureIsReportedWithItsRetryability) {
  FakeCoordinatorClient client;
  client.leases.push_back(Grant(6));
  ScriptedRunner runner([](const JobContext&, JobObserver*) {
    return JobRun{JobRun::Outcome::kFailed, "", "NOT_FOUND: data set missing", false, ""};
  });
  StopSignal stop;
  Agent agent(&client, &runner, &stop, Options(true));
  ASSERT_TRUE(agent.Run().ok());
  EXPECT_EQ(client.calls().back(), "fail 6 final");
}

TEST(AgentTest, RefusedTokenStopsTheAgentWithTheError) {
  FakeCoordinatorClient client;
  client.register_error = UnauthenticatedError("unknown token");
  ScriptedRunner runner([](const JobContext&, JobObserver*) { return JobRun{}; });
  StopSignal stop;
  Agent agent(&client, &runner, &stop, Options(false));
  Status status = agent.Run();
  EXPECT_EQ(status.code(), StatusCode::kUnauthenticated);
}

TEST(AgentTest, HeartbeatsKeepComingDuringALongStep) {
  FakeCoordinatorClient client;
  client.leases.push_back(Grant(7));
  ScriptedRunner runner([](const JobContext&, JobObserver* o) {
    o->SetProgress({0, 1, {}, 0});
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // one long step
    return JobRun{JobRun::Outcome::kSucceeded, "{}", "", false, ""};
  });
  StopSignal stop;
  Agent agent(&client, &runner, &stop, Options(true));
  ASSERT_TRUE(agent.Run().ok());
  EXPECT_GE(client.heartbeats(), 5) << "heartbeats must not wait for the training thread";
}

// Compute accounting: every heartbeat carries the attempt's usage so far and
// the final call its final value, with the images the runner reported, on
// the meter the agent shares between its slots.
TEST(AgentTest, HeartbeatsAndTheFinalCallCarryTheAttemptsUsage) {
  FakeCoordinatorClient client;
  client.leases.push_back(Grant(9));
  ScriptedRunner runner([](const JobContext&, JobObserver* o) { return TrainSteps(o, 6, 30); });
  StopSignal stop;
  Agent agent(&client, &runner, &stop, Options(true));
  ASSERT_TRUE(agent.Run().ok());
  const std::vector<ResourceUsage> beats = client.heartbeat_usages();
  ASSERT_GE(beats.size(), 2u);
  for (size_t i = 1; i < beats.size(); ++i) {
    EXPECT_GE(beats[i].wall_seconds, beats[i - 1].wall_seconds);
    EXPECT_GE(beats[i].cpu_seconds, beats[i - 1].cpu_seconds);
    EXPECT_GE(beats[i].images, beats[i - 1].images);
  }
  const std::optional<ResourceUsage> final_usage = client.final_usage();
  ASSERT_TRUE(final_usage.has_value());
  EXPECT_EQ(final_usage->images, 600);  // the runner's last run_images (6 steps of 100)
  EXPECT_EQ(final_usage->device_kind, "cpu");
  EXPECT_FALSE(final_usage->device_model.empty());
  EXPECT_GE(final_usage->wall_seconds, 0.18);  // 6 steps of 30 ms
  EXPECT_GE(final_usage->wall_seconds, beats.back().wall_seconds);
  EXPECT_GT(final_usage->peak_host_bytes, 0);
  EXPECT_EQ(final_usage->gpu_seconds, 0);
}

// A job stopped early while its report was on the way: the report is
// refused, and one more heartbeat still tells what the attempt used (the
// coordinator's token acknowledges the stop once).
TEST(AgentTest, AJobStoppedWhileReportingStillSendsItsUsage) {
  FakeCoordinatorClient client;
  client.leases.push_back(Grant(11));
  ScriptedRunner runner([&](const JobContext&, JobObserver* o) {
    for (int s = 1; s <= 200; ++s) {
      if (o->ShouldStop() != StopRequest::kContinue) return JobRun{JobRun::Outcome::kCancelled, "", "", false, ""};
      o->Record({{"test.accuracy", 0.1, s, 0, 0}});
      o->SetProgress({0, s, {}, 100 * s});
      if (s == 3) client.stopped_early = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return JobRun{JobRun::Outcome::kSucceeded, "{}", "", false, ""};
  });
  StopSignal stop;
  Agent agent(&client, &runner, &stop, Options(true));
  ASSERT_TRUE(agent.Run().ok());
  EXPECT_EQ(agent.stats().ends.at(SessionEnd::kAbandoned), 1);
  const std::vector<ResourceUsage> beats = client.heartbeat_usages();
  ASSERT_FALSE(beats.empty());
  EXPECT_GE(beats.back().images, 300) << "the last heartbeat carries the usage after the refusal";
  EXPECT_FALSE(client.final_usage().has_value()) << "no final call for an abandoned lease";
}

// A probe whose free memory moves down by 1 GB per call, so each report
// shows a fresh measurement.
class CountingProbe : public DeviceProbe {
 public:
  StatusOr<DeviceMemory> Probe(const std::string& device) override {
    if (device == "cuda:1") return FailedPreconditionError("no NVML");
    const int n = calls_++;
    return DeviceMemory{GbToBytes(80), GbToBytes(70 - (n % 50)), "fake"};
  }

 private:
  std::atomic<int> calls_{0};
};

TEST(AgentTest, RegistrationLeasesAndHeartbeatsCarryMeasuredFreeMemory) {
  FakeCoordinatorClient client;
  client.leases.push_back(Grant(8));
  ScriptedRunner runner([](const JobContext&, JobObserver* o) {
    o->SetProgress({0, 1, {}, {}});
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return JobRun{JobRun::Outcome::kSucceeded, "{}", "", false, ""};
  });
  CountingProbe probe;
  StopSignal stop;
  AgentOptions options = Options(true);
  options.registration.devices = {{"cuda", "cuda:0", 0, 0}, {"cuda", "cuda:1", 0, 0}};
  options.slot_devices = {"cuda:0"};
  options.probe = &probe;
  Agent agent(&client, &runner, &stop, options);
  ASSERT_TRUE(agent.Run().ok());

  ASSERT_EQ(client.registrations().size(), 1u);
  const auto& devices = client.registrations()[0].devices;
  ASSERT_EQ(devices.size(), 2u);
  EXPECT_DOUBLE_EQ(devices[0].memory_gb, 80);
  EXPECT_GT(devices[0].free_memory_gb, 20);
  EXPECT_LE(devices[0].free_memory_gb, 70);
  EXPECT_DOUBLE_EQ(devices[1].free_memory_gb, 0) << "an unmeasurable device reports unknown";

  ASSERT_FALSE(client.lease_requests().empty());
  const LeaseRequest& lease = client.lease_requests()[0];
  EXPECT_EQ(lease.device, "cuda:0");
  EXPECT_TRUE(lease.has_cuda);
  EXPECT_LT(lease.free_gpu_memory_gb, devices[0].free_memory_gb) << "measured again at lease time";

  ASSERT_GE(client.heartbeats(), 1);
  const ProgressReport last = client.last_progress();
  ASSERT_EQ(last.devices.size(), 2u);
  EXPECT_EQ(last.devices[0].name, "cuda:0");
  EXPECT_LT(last.devices[0].free_memory_gb, lease.free_gpu_memory_gb) << "measured per heartbeat";
}

// A runner that estimates `estimate_gb` and runs out of memory while the
// coordinator's estimate in the lease is below `needs_gb`.
class OomRunner : public JobRunner {
 public:
  OomRunner(double estimate_gb, double needs_gb) : estimate_gb_(estimate_gb), needs_gb_(needs_gb) {}
  JobRun Run(const JobContext& context, JobObserver*) override {
    if (context.lease.memory_estimate_gb < needs_gb_) {
      JobRun run;
      run.outcome = JobRun::Outcome::kFailed;
      run.error = "RESOURCE_EXHAUSTED: out of memory: CUDA out of memory (fake)";
      run.retryable = true;
      run.out_of_memory = true;
      return run;
    }
    return {JobRun::Outcome::kSucceeded, "{}", "", false};
  }
  StatusOr<int64_t> EstimateMemoryBytes(const LeaseGrant&, const std::string&) override {
    return GbToBytes(estimate_gb_);
  }

 private:
  double estimate_gb_, needs_gb_;
};

// A device of 16 GB of which `free_gb` is free.
class FixedProbe : public DeviceProbe {
 public:
  explicit FixedProbe(double free_gb) : free_gb_(free_gb) {}
  StatusOr<DeviceMemory> Probe(const std::string&) override {
    return DeviceMemory{GbToBytes(16), GbToBytes(free_gb_), "fake"};
  }

 private:
  double free_gb_;
};

TEST(AgentTest, OutOfMemoryReleasesTheJobWithARaisedEstimateInsteadOfFailingIt) {
  FakeCoordinatorClient client;
  client.leases.push_back(Grant(9));
  OomRunner runner(/*estimate_gb=*/2, /*needs_gb=*/100);
  StopSignal stop;
  Agent agent(&client, &runner, &stop, Options(true));
  ASSERT_TRUE(agent.Run().ok());
  EXPECT_EQ(client.calls().back(), "release 9 out_of_memory 3.00");  // 1.5 x the 2 GB estimate
  EXPECT_EQ(agent.stats().ends.at(SessionEnd::kReleased), 1);
  EXPECT_THAT(client.calls(), Not(Contains(HasSubstr("fail"))));
}

TEST(AgentTest, TheCoordinatorsLargerEstimateIsTheOneRaised) {
  FakeCoordinatorClient client;
  LeaseGrant g = Grant(10);
  g.memory_estimate_gb = 4;
  client.leases.push_back(g);
  OomRunner runner(/*estimate_gb=*/2, /*needs_gb=*/100);
  StopSignal stop;
  Agent agent(&client, &runner, &stop, Options(true));
  ASSERT_TRUE(agent.Run().ok());
  EXPECT_EQ(client.calls().back(), "release 10 out_of_memory 6.00");
}

TEST(AgentTest, APackedSlotGivesBackAJobThatDoesNotFitAndRunsOneThatDoes) {
  FakeCoordinatorClient client;
  client.leases.push_back(Grant(11));
  OomRunner big(/*estimate_gb=*/5, /*needs_gb=*/0);
  FixedProbe probe(/*free_gb=*/5.5);
  DevicePacker packer(&probe, GbToBytes(1));  // offers 4.5 GB
  StopSignal stop;
  AgentOptions options = Options(true);
  options.registration.devices = {{"cuda", "cuda:0", 0, 0}};
  options.slot_devices = {"cuda:0"};
  options.probe = &probe;
  options.packer = &packer;
  options.full_device_wait = std::chrono::milliseconds(1);
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop.Drain();
  });
  Agent agent(&client, &big, &stop, options);
  ASSERT_TRUE(agent.Run().ok());
  stopper.join();
  EXPECT_THAT(client.calls(), Contains("release 11 does_not_fit 5.00"));
  ASSERT_FALSE(client.lease_requests().empty());
  EXPECT_NEAR(client.lease_requests()[0].free_gpu_memory_gb, 4.5, 1e-9) << "the offer is free less the reserve";
  EXPECT_EQ(packer.Admitted("cuda:0"), 0);

  FakeCoordinatorClient client2;
  client2.leases.push_back(Grant(12));
  OomRunner small(/*estimate_gb=*/4, /*needs_gb=*/0);
  StopSignal stop2;
  Agent agent2(&client2, &small, &stop2, options);
  ASSERT_TRUE(agent2.Run().ok());
  EXPECT_THAT(client2.calls(), Contains(HasSubstr("complete 12")));
  EXPECT_EQ(packer.Admitted("cuda:0"), 0) << "a finished job leaves the packer";
}

}  // namespace
}  // namespace lcsweep::agent
