// The pure parts of the CLI's commands: every Render* function on hand-made
// protos (no server), the submit retry loop on a fake sender, and the text
// helpers. The commands against a real coordinator: cli_test.cc.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/export.h"
#include "cli/format.h"
#include "cli/health.h"
#include "cli/job_actions.h"
#include "cli/jobs.h"
#include "cli/submit.h"
#include "cli/sweeps.h"
#include "tests/cli/test_sweep.h"
#include "cli/workers_events.h"

namespace lcsweep::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kNow = 1'700'000'000'000;

Sweep ParseTestSweep(std::vector<int> lc_rates, std::vector<int> seeds) {
  const nlohmann::json spec = cli_testing::TestSweep("grid_a", std::move(lc_rates), std::move(seeds));
  SweepParseResult parsed = ParseSweepTextWithErrors(spec.dump());
  EXPECT_TRUE(parsed.sweep) << (parsed.errors.empty() ? "" : parsed.errors[0].ToString());
  return *parsed.sweep;
}

TEST(RenderDryRunTest, OfflineListsEveryExpandedJobAndCountsPerAxisValue) {
  Sweep sweep = ParseTestSweep({1, 4}, {0, 1});
  std::string text = RenderDryRun(sweep, nullptr);
  EXPECT_THAT(text, HasSubstr("dry run of sweep grid_a (grid): 8 jobs; nothing was submitted"));
  EXPECT_THAT(text, HasSubstr("model.conv.lc_rate: 1 (4) 4 (4)"));
  EXPECT_THAT(text, HasSubstr("model.conv.spatial: frozen (4) learned (4)"));
  EXPECT_THAT(text, HasSubstr("seed: 0 (4) 1 (4)"));
  EXPECT_THAT(text, HasSubstr(sweep.jobs[7].hash.substr(0, 12)));
  EXPECT_THAT(text, HasSubstr("offline"));
  EXPECT_THAT(text, Not(HasSubstr("on server")));
  EXPECT_THAT(text, Not(HasSubstr("on the coordinator")));
}

TEST(RenderDryRunTest, WithTheCoordinatorsAnswerShowsWhatIsAlreadyDone) {
  Sweep sweep = ParseTestSweep({1, 4}, {0});
  v1::SubmitSweepResponse server;
  server.set_dry_run(true);
  // Listed out of order: outcomes are matched by hash, not by position.
  for (int i = static_cast<int>(sweep.jobs.size()) - 1; i >= 0; --i) {
    v1::SubmittedJob* sj = server.add_jobs();
    sj->set_config_hash(sweep.jobs[i].hash);
    sj->set_outcome(i == 0 ? v1::SUBMIT_OUTCOME_REUSED_RESULT : v1::SUBMIT_OUTCOME_CREATED);
    sj->set_state(i == 0 ? v1::JOB_STATE_SUCCEEDED : v1::JOB_STATE_QUEUED);
  }
  std::string text = RenderDryRun(sweep, &server);
  EXPECT_THAT(text, HasSubstr("on server"));
  EXPECT_THAT(text, HasSubstr("on the coordinator: 3 new, 0 already queued/running, 1 already done"));
  // Row 1 (the first expanded job) carries the reused result.
  std::string row1 = text.substr(text.find("\n1 ") + 1);
  row1 = row1.substr(0, row1.find('\n'));
  EXPECT_THAT(row1, HasSubstr("reuse result [succeeded]"));
  EXPECT_THAT(text, Not(HasSubstr("not classified")));
}

TEST(RenderDryRunTest, JobsTheCoordinatorDidNotListAreMarked) {
  Sweep sweep = ParseTestSweep({1, 4}, {0});
  v1::SubmitSweepResponse server;
  v1::SubmittedJob* sj = server.add_jobs();
  sj->set_config_hash(sweep.jobs[0].hash);
  sj->set_outcome(v1::SUBMIT_OUTCOME_CREATED);
  server.set_jobs_omitted(3);
  std::string text = RenderDryRun(sweep, &server);
  EXPECT_THAT(text, HasSubstr("on the coordinator: 1 new"));
  EXPECT_THAT(text, HasSubstr("3 jobs beyond the first 1 were not classified"));
}

TEST(OfflinePlanTest, OneSubmittedJobPerExpandedJob) {
  Sweep sweep = ParseTestSweep({1, 4, 16}, {0, 1});
  v1::SubmitSweepResponse plan = OfflinePlan(sweep);
  ASSERT_EQ(plan.jobs_size(), 12);
  EXPECT_TRUE(plan.dry_run());
  EXPECT_EQ(plan.jobs(5).config_hash(), sweep.jobs[5].hash);
  EXPECT_EQ(plan.jobs(5).summary().seed(), sweep.jobs[5].config.seed);
  EXPECT_EQ(plan.jobs(5).summary().lc_rate(), sweep.jobs[5].config.model.conv.lc_rate);
}

TEST(SubmitWithRetryTest, RetriesTransientFailuresWithTheSameRequest) {
  v1::SubmitSweepRequest req;
  req.set_request_id("submit-abc");
  std::vector<std::string> seen;
  std::vector<grpc::Status> answers = {grpc::Status(grpc::StatusCode::UNAVAILABLE, "restart"),
                                       grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "lost reply"),
                                       grpc::Status::OK};
  v1::SubmitSweepResponse resp;
  grpc::Status st = SubmitWithRetry(req, &resp, [&](const v1::SubmitSweepRequest& r, v1::SubmitSweepResponse* out) {
    seen.push_back(r.request_id());
    out->set_sweep_id(static_cast<int64_t>(seen.size()));
    return answers[seen.size() - 1];
  });
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"submit-abc", "submit-abc", "submit-abc"}));
  EXPECT_EQ(resp.sweep_id(), 3);
}

TEST(SubmitWithRetryTest, StopsAtOtherErrorsAndAfterTheLastAttempt) {
  v1::SubmitSweepRequest req;
  v1::SubmitSweepResponse resp;
  int calls = 0;
  grpc::Status st = SubmitWithRetry(req, &resp, [&](const v1::SubmitSweepRequest&, v1::SubmitSweepResponse*) {
    ++calls;
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad");
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  calls = 0;
  st = SubmitWithRetry(req, &resp, [&](const v1::SubmitSweepRequest&, v1::SubmitSweepResponse*) {
    ++calls;
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "down");
  });
  EXPECT_EQ(calls, kSubmitAttempts);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST(SpecErrorsStatusTest, CountsAndIndentsEveryProblem) {
  Status one = SpecErrorsStatus("a.json", {{"grid.x", "-2", "an integer >= 1", ""}});
  EXPECT_EQ(one.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(one.message(), HasSubstr("a.json is not a valid sweep (1 problem):\n  grid.x: found -2"));
  Status two = SpecErrorsStatus("a.json", {{"a", "1", "2", ""}, {"b", "3", "4", ""}});
  EXPECT_THAT(two.message(), HasSubstr("(2 problems)"));
  EXPECT_THAT(two.message(), HasSubstr("\n  b: "));
}

TEST(RenderSubmittedTest, CountsAndReuseBreakdown) {
  Sweep sweep = ParseTestSweep({1}, {0});
  v1::SubmitSweepResponse resp;
  resp.set_sweep_id(4);
  resp.set_created(1);
  resp.set_reused(1);
  resp.add_jobs()->set_outcome(v1::SUBMIT_OUTCOME_CREATED);
  resp.add_jobs()->set_outcome(v1::SUBMIT_OUTCOME_REUSED_RESULT);
  std::string text = RenderSubmitted(sweep, resp, /*force=*/false);
  EXPECT_THAT(text, HasSubstr("submitted sweep 4 (grid_a): 2 jobs, 1 created, 1 reused\n"));
  EXPECT_THAT(text, HasSubstr("1 already succeeded (result kept)"));
  EXPECT_THAT(text, HasSubstr("--force re-runs finished jobs"));
  EXPECT_THAT(text, HasSubstr("lcsweep watch 4"));
  resp.set_replayed(true);
  EXPECT_THAT(RenderSubmitted(sweep, resp, true), HasSubstr("(an earlier try had submitted it)"));
  EXPECT_THAT(RenderSubmitted(sweep, resp, true), Not(HasSubstr("--force")));
}

TEST(RenderSweepsTest, TableHintAndJson) {
  EXPECT_THAT(RenderSweeps({}, false, kNow), HasSubstr("no sweeps yet"));
  v1::Sweep s;
  s.set_id(3);
  s.set_name("grid_a");
  s.set_created_at_ms(kNow - 65'000);
  s.mutable_counts()->set_total(4);
  s.mutable_counts()->set_succeeded(1);
  s.mutable_counts()->set_failed(1);
  std::string text = RenderSweeps({s}, false, kNow);
  EXPECT_THAT(text, HasSubstr("grid_a"));
  EXPECT_THAT(text, HasSubstr(ProgressBar(0.5, 20)));
  EXPECT_THAT(text, HasSubstr("1m05s ago"));
  s.set_cancelled_at_ms(kNow);
  EXPECT_THAT(RenderSweeps({s}, false, kNow), HasSubstr("grid_a (cancelled)"));
  nlohmann::json j = nlohmann::json::parse(RenderSweeps({s, s}, true, kNow));
  EXPECT_EQ(j["sweeps"].size(), 2u);
  EXPECT_EQ(j["sweeps"][0]["name"], "grid_a");
}

v1::Job SucceededJob(int64_t id, double accuracy) {
  v1::Job j;
  j.set_id(id);
  j.set_state(v1::JOB_STATE_SUCCEEDED);
  j.add_sweep_ids(1);
  j.add_sweep_ids(2);
  j.set_axes_json(R"({"model.conv.lc_rate": 4, "model.conv.spatial": "learned", "seed": 1})");
  j.set_attempt(1);
  j.set_max_attempts(3);
  j.set_result_json(nlohmann::json({{"final", {{"test_accuracy", accuracy}}}}).dump());
  j.set_config_json(R"({"model": {"conv": {"lc_rate": 4}}})");
  return j;
}

TEST(RenderJobsTest, RowsAndCount) {
  v1::Job running;
  running.set_id(8);
  running.set_state(v1::JOB_STATE_RUNNING);
  running.mutable_progress()->set_updated_at_ms(kNow);
  running.mutable_progress()->set_epoch(1);
  running.mutable_progress()->set_step(30);
  (*running.mutable_progress()->mutable_metrics())["epochs"] = 2;
  (*running.mutable_progress()->mutable_metrics())["total_steps"] = 100;
  (*running.mutable_progress()->mutable_metrics())["test.accuracy"] = 0.25;
  std::string text = RenderJobs({SucceededJob(7, 0.9123), running}, false, kNow);
  EXPECT_THAT(text, HasSubstr("lc_rate=4 spatial=learned seed=1"));
  EXPECT_THAT(text, HasSubstr("1,2"));
  EXPECT_THAT(text, HasSubstr("91.23%"));
  EXPECT_THAT(text, HasSubstr("epoch 1/2 step 30/100"));
  EXPECT_THAT(text, HasSubstr("25.00%"));
  EXPECT_THAT(text, HasSubstr("\n2 jobs\n"));
  EXPECT_THAT(RenderJobs({running}, false, kNow), HasSubstr("\n1 job\n"));
  nlohmann::json j = nlohmann::json::parse(RenderJobs({running}, true, kNow));
  EXPECT_EQ(j["jobs"].size(), 1u);
  EXPECT_EQ(j["total"], "1");  // int64 as a string in proto JSON
}

TEST(ParseStatesTest, CommaSeparatedAndUnknown) {
  auto states = ParseStates({"running,failed", "queued"});
  ASSERT_TRUE(states.ok());
  EXPECT_EQ(*states, (std::vector<v1::JobState>{v1::JOB_STATE_RUNNING, v1::JOB_STATE_FAILED, v1::JOB_STATE_QUEUED}));
  auto bad = ParseStates({"queued,bogus"});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("--state bogus"));
}

TEST(RenderShowTest, StateHistoryConfigAndFigures) {
  JobDetail d;
  *d.job.mutable_job() = SucceededJob(7, 0.875);
  v1::Event e;
  e.set_id(1);
  e.set_attempt(1);
  e.set_to_state(v1::JOB_STATE_QUEUED);
  e.set_reason("submitted");
  d.events.push_back(e);
  std::string text = RenderShow(d, false, kNow);
  EXPECT_THAT(text, HasSubstr("job 7  succeeded"));
  EXPECT_THAT(text, HasSubstr("sweeps:       1, 2"));
  EXPECT_THAT(text, HasSubstr("checkpoint:   none"));
  EXPECT_THAT(text, HasSubstr("history:"));
  EXPECT_THAT(text, HasSubstr("attempt 1  queued  submitted"));
  EXPECT_THAT(text, HasSubstr("\"lc_rate\": 4"));
  EXPECT_THAT(text, HasSubstr("final.test_accuracy"));
  EXPECT_THAT(text, HasSubstr("0.875"));
  d.events.clear();
  EXPECT_THAT(RenderShow(d, false, kNow), Not(HasSubstr("history:")));
  nlohmann::json j = nlohmann::json::parse(RenderShow(d, true, kNow));
  EXPECT_EQ(j["job"]["id"], "7");
}

TEST(RenderEventsAndWorkersTest, TablesAndHints) {
  v1::Event e;
  e.set_id(5);
  e.set_job_id(7);
  e.set_to_state(v1::JOB_STATE_QUEUED);
  e.set_reason("testing");
  std::string text = RenderEvents({e}, false);
  EXPECT_THAT(text, HasSubstr("(new) -> queued"));
  EXPECT_THAT(text, HasSubstr("testing"));
  e.set_from_state(v1::JOB_STATE_QUEUED);
  e.set_to_state(v1::JOB_STATE_RUNNING);
  e.set_worker_id(3);
  EXPECT_THAT(RenderEvents({e}, false), HasSubstr("queued -> running"));
  EXPECT_EQ(nlohmann::json::parse(RenderEvents({e, e}, true))["events"].size(), 2u);

  EXPECT_THAT(RenderWorkers({}, false, false, kNow), HasSubstr("no live workers"));
  EXPECT_THAT(RenderWorkers({}, true, false, kNow), HasSubstr("no workers have registered"));
  v1::Worker w;
  w.set_id(3);
  w.set_name("gpu-box");
  w.set_alive(true);
  w.add_job_ids(7);
  w.add_job_ids(9);
  w.set_last_seen_at_ms(kNow - 2'000);
  text = RenderWorkers({w}, false, false, kNow);
  EXPECT_THAT(text, HasSubstr("gpu-box"));
  EXPECT_THAT(text, HasSubstr("7,9"));
  EXPECT_THAT(text, HasSubstr("2s ago"));
}

TEST(RenderExportTest, CsvPerJobLongCsvAndJson) {
  ExportData data;
  data.jobs = {SucceededJob(7, 0.1 + 0.2)};  // not exactly 0.3: %.17g must keep every digit
  std::string csv = RenderExport(data, "csv", false);
  EXPECT_THAT(csv, HasSubstr("job_id,state,seed,config_hash,model.conv.lc_rate,model.conv.spatial,final.test_accuracy"));
  EXPECT_THAT(csv, HasSubstr(",4,learned,0.30000000000000004"));
  v1::MetricSeries s;
  s.set_name("train.step_loss");
  for (int step : {1, 2}) {
    v1::MetricPoint* p = s.add_points();
    p->set_step(step);
    p->set_value(1.0 / step);
  }
  data.series = {{s}};
  std::string long_csv = RenderExport(data, "csv", true);
  EXPECT_EQ(std::count(long_csv.begin(), long_csv.end(), '\n'), 3);  // header + one row per point
  EXPECT_THAT(long_csv, HasSubstr("train.step_loss,0,0,2,0,0.5"));
  nlohmann::json j = nlohmann::json::parse(RenderExport(data, "json", true));
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["figures"]["final.test_accuracy"].get<double>(), 0.1 + 0.2);
  EXPECT_EQ(j[0]["axes"]["model.conv.lc_rate"], 4);
  EXPECT_FALSE(j[0]["axes"].contains("seed"));
  EXPECT_EQ(j[0]["metrics"]["train.step_loss"][1]["value"].get<double>(), 0.5);
}

TEST(RenderJobActionsTest, Lines) {
  v1::CancelSweepResponse c;
  c.set_cancelled(3);
  c.set_cancel_requested(1);
  EXPECT_THAT(RenderCancelledSweep(1, c), HasSubstr("cancelled sweep 1: 3 queued jobs cancelled, 1 running jobs told to stop"));
  v1::Job j;
  j.set_id(2);
  j.set_state(v1::JOB_STATE_QUEUED);
  j.set_attempt(2);
  j.set_max_attempts(3);
  EXPECT_EQ(RenderJobState(j), "job 2 is queued\n");
  EXPECT_EQ(RenderRetried(j), "job 2 is queued (attempt 2 of 3)\n");
}

TEST(FormatTest, BarsDurationsAndHealthBytes) {
  EXPECT_EQ(ProgressBar(0.5, 10), "[#####.....]  50%");
  EXPECT_EQ(ProgressBar(2.0, 4), "[####] 100%");
  EXPECT_EQ(ProgressBar(NAN, 4), "[....]   0%");
  EXPECT_EQ(FormatDuration(3725), "1h02m");
  EXPECT_EQ(FormatDuration(185), "3m05s");
  EXPECT_EQ(FormatDuration(-1), "?");
  EXPECT_EQ(AgoText(0, kNow), "-");
  EXPECT_EQ(AgoText(kNow - 12'000, kNow), "12s ago");
  EXPECT_EQ(AxesText(R"({"model.conv.lc_rate": 8, "seed": 0})"), "lc_rate=8 seed=0");
  EXPECT_EQ(AxesText("not json"), "");
  EXPECT_EQ(ServingStatusOf(std::string("\x08\x01", 2)), 1);
  EXPECT_EQ(ServingStatusOf(""), 0);
  EXPECT_STREQ(ServingStatusName(2), "NOT_SERVING");
  EXPECT_STREQ(ServingStatusName(9), "UNKNOWN");
}

}  // namespace
}  // namespace lcsweep::cli
