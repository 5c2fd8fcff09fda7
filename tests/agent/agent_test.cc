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

}  // namespace
}  // namespace lcsweep::agent
