// The job state machine as a table: every (state, trigger) pair is either a
// row of TransitionTable() -- and Transit() then lands in one of the row's
// target states -- or refused with FAILED_PRECONDITION. Then the budgets,
// one rule at a time.
#include "server/core/job_lifecycle.h"

#include <algorithm>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace lcsweep {
namespace {

using Kind = Trigger::Kind;
using ::testing::HasSubstr;

const Kind kAllTriggers[] = {Kind::kLease,  Kind::kComplete, Kind::kFail,
                             Kind::kRelease, Kind::kExpire,  Kind::kCancel,
                             Kind::kCancelAck, Kind::kRetry, Kind::kResubmit, Kind::kStop};
const JobState kAllStates[] = {JobState::kQueued, JobState::kRunning, JobState::kSucceeded,
                               JobState::kFailed, JobState::kCancelled, JobState::kStopped};

JobRecord JobIn(JobState state) {
  JobRecord j;
  j.id = 7;
  j.state = state;
  j.attempt = 2;
  j.max_attempts = 3;
  j.failures = 1;
  if (state == JobState::kRunning || state == JobState::kCancelled) {
    j.lease_token = "tok";
    j.lease_owner = 4;
    j.lease_expiry_ms = 500;
  }
  return j;
}

Trigger T(Kind kind) {
  Trigger t;
  t.kind = kind;
  t.now_ms = 1000;
  t.token = "fresh";
  t.worker_id = 9;
  t.worker_name = "w9";
  t.lease_ttl_ms = 60;
  t.text = kind == Kind::kComplete ? "{\"acc\":1}" : "why";
  t.retryable = true;
  t.budget = 5;
  t.priority = 3;
  t.sweep_id = 11;
  t.max_losses = 4;
  return t;
}

TEST(JobLifecycleTest, EveryStateTriggerPairFollowsTheTable) {
  int allowed_pairs = 0;
  for (JobState from : kAllStates) {
    for (Kind kind : kAllTriggers) {
      const auto& table = TransitionTable();
      auto row = std::find_if(table.begin(), table.end(), [&](const TransitionRule& r) {
        return r.from == from && r.trigger == kind;
      });
      auto t = Transit(JobIn(from), T(kind));
      SCOPED_TRACE(std::string(JobStateName(from)) + " x " + TriggerName(kind));
      if (row == table.end()) {
        ASSERT_FALSE(t.ok());
        EXPECT_EQ(t.status().code(), StatusCode::kFailedPrecondition);
        EXPECT_THAT(t.status().message(), HasSubstr(JobStateName(from)));
        continue;
      }
      ++allowed_pairs;
      ASSERT_TRUE(t.ok()) << t.status().ToString();
      EXPECT_NE(std::find(row->to.begin(), row->to.end(), t->job.state), row->to.end())
          << "landed in " << JobStateName(t->job.state);
      EXPECT_EQ(t->job.updated_ms, 1000);
      if (t->has_event) {
        EXPECT_EQ(t->event.from_state, JobStateName(from));
      }
      // Only running jobs (and cancelled or stopped ones, until their worker
      // hears it) hold a lease token.
      if (t->job.state != JobState::kRunning && t->job.state != JobState::kCancelled &&
          t->job.state != JobState::kStopped) {
        EXPECT_TRUE(t->job.lease_token.empty());
      }
    }
  }
  EXPECT_EQ(allowed_pairs, static_cast<int>(TransitionTable().size()));
}

// Every transition out of running ends the lease, once, with its outcome;
// nothing else does.
TEST(JobLifecycleTest, LeavingRunningNamesHowTheLeaseEnded) {
  const std::pair<Kind, const char*> ends[] = {
      {Kind::kComplete, "succeeded"}, {Kind::kFail, "failed"},      {Kind::kRelease, "released"},
      {Kind::kExpire, "lost"},        {Kind::kCancel, "cancelled"}, {Kind::kStop, "stopped"}};
  for (const auto& [kind, outcome] : ends) {
    JobRecord running = JobIn(JobState::kRunning);
    running.attempt = 2;
    auto t = Transit(running, T(kind));
    ASSERT_TRUE(t.ok()) << TriggerName(kind);
    EXPECT_EQ(t->lease_outcome, outcome) << TriggerName(kind);
    EXPECT_EQ(t->lease_attempt, 2) << TriggerName(kind);
  }
  for (JobState from : {JobState::kQueued, JobState::kCancelled, JobState::kStopped}) {
    for (Kind kind : kAllTriggers) {
      auto t = Transit(JobIn(from), T(kind));
      if (t.ok()) {
        EXPECT_EQ(t->lease_outcome, "") << JobStateName(from) << " x " << TriggerName(kind);
      }
    }
  }
}

TEST(JobLifecycleTest, AStopIsItsOwnTerminalStateThatKeepsTheTokenUntilHeard) {
  JobRecord running = JobIn(JobState::kRunning);
  Trigger stop = T(Kind::kStop);
  stop.text = "median rule: worse";
  auto t = Transit(running, stop);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->job.state, JobState::kStopped);
  EXPECT_TRUE(IsTerminal(t->job.state));
  EXPECT_FALSE(t->job.lease_token.empty()) << "its worker hears it on the next heartbeat";
  EXPECT_EQ(t->job.failures, running.failures) << "a stop is not a failure";
  EXPECT_EQ(t->event.reason, "stopped early: median rule: worse");
  auto heard = Transit(t->job, T(Kind::kCancelAck));
  ASSERT_TRUE(heard.ok());
  EXPECT_TRUE(heard->job.lease_token.empty());
  EXPECT_FALSE(heard->has_event);
  auto retried = Transit(heard->job, T(Kind::kRetry));
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(retried->job.state, JobState::kQueued);
}

TEST(JobLifecycleTest, LeaseHandsOutTheFreshToken) {
  auto t = Transit(JobIn(JobState::kQueued), T(Kind::kLease));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->job.state, JobState::kRunning);
  EXPECT_EQ(t->job.lease_token, "fresh");
  EXPECT_EQ(t->job.lease_owner, 9);
  EXPECT_EQ(t->job.lease_expiry_ms, 1060);
  EXPECT_EQ(t->event.worker_id, 9);
  EXPECT_THAT(t->event.reason, HasSubstr("w9"));
}

TEST(JobLifecycleTest, RetryableFailureUsesTheFailureBudget) {
  JobRecord j = JobIn(JobState::kRunning);  // attempt 2 of 3
  auto t = Transit(j, T(Kind::kFail));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->job.state, JobState::kQueued);
  EXPECT_EQ(t->job.attempt, 3);
  EXPECT_EQ(t->job.failures, 2);
  EXPECT_EQ(t->job.max_attempts, 3);
  j.attempt = 3;
  t = Transit(j, T(Kind::kFail));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->job.state, JobState::kFailed);
  EXPECT_THAT(t->event.reason, HasSubstr("no attempts left"));
  Trigger final_error = T(Kind::kFail);
  final_error.retryable = false;
  j.attempt = 1;
  t = Transit(j, final_error);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->job.state, JobState::kFailed);
  EXPECT_EQ(t->job.attempt, 1);
}

TEST(JobLifecycleTest, ExpiryUsesTheLossBudgetAndCostsNoFailure) {
  JobRecord j = JobIn(JobState::kRunning);
  j.attempt = 3;  // the last attempt of the failure budget
  auto t = Transit(j, T(Kind::kExpire));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->job.state, JobState::kQueued);
  EXPECT_EQ(t->job.attempt, 4);
  EXPECT_EQ(t->job.max_attempts, 4) << "a loss moves the failure window with it";
  EXPECT_EQ(t->job.losses, 1);
  EXPECT_EQ(t->job.failures, 1);
  EXPECT_THAT(t->event.reason, HasSubstr("loss 1 of 4"));
  j.losses = 3;
  t = Transit(j, T(Kind::kExpire));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->job.state, JobState::kFailed);
  EXPECT_TRUE(t->job.retryable);
  EXPECT_THAT(t->job.error, HasSubstr("no losses left"));
}

TEST(JobLifecycleTest, ReleaseKeepsTheAttemptButCountsALoss) {
  JobRecord j = JobIn(JobState::kRunning);
  auto t = Transit(j, T(Kind::kRelease));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->job.state, JobState::kQueued);
  EXPECT_EQ(t->job.attempt, 2);
  EXPECT_EQ(t->job.losses, 1);
  j.losses = 3;
  t = Transit(j, T(Kind::kRelease));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->job.state, JobState::kFailed);
}

TEST(JobLifecycleTest, CancelledJobsKeepTheTokenUntilTheWorkerHearsOrGoes) {
  auto cancelled = Transit(JobIn(JobState::kRunning), T(Kind::kCancel));
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(cancelled->job.state, JobState::kCancelled);
  EXPECT_EQ(cancelled->job.lease_token, "tok");
  EXPECT_THAT(cancelled->event.reason, HasSubstr("sweep 11 cancelled: why"));
  for (Kind kind : {Kind::kCancelAck, Kind::kExpire}) {
    auto t = Transit(cancelled->job, T(kind));
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->job.state, JobState::kCancelled);
    EXPECT_TRUE(t->job.lease_token.empty());
    EXPECT_FALSE(t->has_event) << TriggerName(kind);
    EXPECT_EQ(t->job.losses, 0);
  }
}

TEST(JobLifecycleTest, RetryAndResubmitStartAFreshWindow) {
  JobRecord j = JobIn(JobState::kFailed);
  j.losses = 7;
  j.error = "boom";
  for (Kind kind : {Kind::kRetry, Kind::kResubmit}) {
    auto t = Transit(j, T(kind));
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->job.state, JobState::kQueued);
    EXPECT_EQ(t->job.attempt, 3);
    EXPECT_EQ(t->job.max_attempts, 2 + 5);
    EXPECT_EQ(t->job.failures, 0);
    EXPECT_EQ(t->job.losses, 0);
    EXPECT_TRUE(t->job.error.empty());
    EXPECT_EQ(t->job.priority, kind == Kind::kResubmit ? 3 : 0);
  }
}

}  // namespace
}  // namespace lcsweep
