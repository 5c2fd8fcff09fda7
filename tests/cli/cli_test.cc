// End-to-end tests of the `lcsweep` binary (tests/cli/cli_fixture.h): spec
// validation, submit and dry runs, listings, cancel/retry, connection errors
// and where the settings come from.
#include "tests/cli/cli_fixture.h"

namespace lcsweep::cli_testing {
namespace {

TEST_F(CliTest, InvalidSpecListsEveryFieldErrorWithPathsAndExits2) {
  nlohmann::json spec = TestSweep("bad", {1, -2}, {0});
  spec["base"]["model"]["conv"]["intermdiate"] = "relu";
  // Validated locally first: the coordinator is not even needed.
  CliResult r = Cli({"--coordinator", "127.0.0.1:1", "submit", WriteSpec(spec, "bad.json")}, /*raw=*/true);
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("grid[\"model.conv.lc_rate\"][1]"));
  EXPECT_THAT(r.err, HasSubstr("base.model.conv.intermdiate"));
  EXPECT_THAT(r.err, HasSubstr("did you mean \"intermediate\""));
  EXPECT_THAT(r.err, HasSubstr("2 problems"));
  // Not JSON at all: line and column.
  std::ofstream(dir_ + "/broken.json") << "{\"name\": \"x\",\n \"grid\": {]}";
  r = Cli({"submit", dir_ + "/broken.json"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("line 2"));
  r = Cli({"submit", dir_ + "/missing.json"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("cannot read"));
}

TEST_F(CliTest, DryRunSubmitDuplicateAndListings) {
  nlohmann::json spec = TestSweep("grid_a", {1, 4}, {0, 1});
  std::string path = WriteSpec(spec, "a.json");
  CliResult dry = Cli({"submit", path, "--dry-run"});
  ASSERT_EQ(dry.code, 0) << dry.err;
  EXPECT_THAT(dry.out, HasSubstr("8 jobs; nothing was submitted"));
  EXPECT_THAT(dry.out, HasSubstr("model.conv.lc_rate: 1 (4) 4 (4)"));
  EXPECT_THAT(dry.out, HasSubstr("model.conv.spatial: frozen (4) learned (4)"));
  EXPECT_THAT(dry.out, HasSubstr("8 new, 0 already queued/running, 0 already done"));
  CliResult ls = Cli({"ls"});
  EXPECT_EQ(ls.code, 0);
  EXPECT_THAT(ls.out, HasSubstr("no sweeps yet"));  // the dry run stored nothing

  CliResult sub = Cli({"submit", path, "--priority", "5"});
  ASSERT_EQ(sub.code, 0) << sub.err;
  EXPECT_THAT(sub.out, HasSubstr("8 jobs, 8 created, 0 reused"));
  CliResult dup = Cli({"submit", path});
  EXPECT_EQ(dup.code, 0);
  EXPECT_THAT(dup.out, HasSubstr("8 jobs, 0 created, 8 reused"));
  EXPECT_THAT(dup.out, HasSubstr("8 already queued/running"));
  dry = Cli({"submit", path, "--dry-run"});
  EXPECT_THAT(dry.out, HasSubstr("0 new, 8 already queued/running"));

  // The same sweep with other run settings (threads, device, execution,
  // data root) is the same experiment: every job reused, and the dry run
  // says which fields it ignored for identity.
  nlohmann::json settings = spec;
  settings["name"] = "grid_a_settings";
  settings["base"]["train"]["threads"] = 3;
  settings["base"]["resources"]["device"] = "any";
  settings["base"]["model"]["conv"]["execution"] = "unfolded";
  settings["base"]["data"]["root"] = "/elsewhere";
  const std::string settings_path = WriteSpec(settings, "a_settings.json");
  CliResult sdry = Cli({"submit", settings_path, "--dry-run"});
  EXPECT_THAT(sdry.out, HasSubstr("0 new, 8 already queued/running"));
  EXPECT_THAT(sdry.out, HasSubstr("ignored for identity"));
  EXPECT_THAT(sdry.out, HasSubstr("set by this sweep to non-default values: data.root model.conv.execution"));
  CliResult same = Cli({"submit", settings_path});
  EXPECT_THAT(same.out, HasSubstr("8 jobs, 0 created, 8 reused"));

  // A sweep overlapping half of the first: 4 reused.
  CliResult overlap = Cli({"submit", WriteSpec(TestSweep("grid_b", {4, 16}, {0, 1}), "b.json")});
  EXPECT_THAT(overlap.out, HasSubstr("8 jobs, 4 created, 4 reused"));

  ls = Cli({"ls"});
  EXPECT_EQ(ls.code, 0);
  EXPECT_THAT(ls.out, HasSubstr("grid_a"));
  EXPECT_THAT(ls.out, HasSubstr("grid_b"));
  CliResult jobs = Cli({"jobs", "--sweep", "1"});
  EXPECT_EQ(jobs.code, 0);
  EXPECT_THAT(jobs.out, HasSubstr("8 jobs"));
  EXPECT_THAT(jobs.out, HasSubstr("lc_rate=4 spatial=learned seed=1"));
  jobs = Cli({"jobs", "--state", "running,failed"});
  EXPECT_THAT(jobs.out, HasSubstr("0 jobs"));
  jobs = Cli({"jobs", "--state", "bogus"});
  EXPECT_EQ(jobs.code, 2);
  jobs = Cli({"jobs", "--json"});
  nlohmann::json j = nlohmann::json::parse(jobs.out);
  EXPECT_EQ(j["jobs"].size(), 12u);

  CliResult show = Cli({"show", "1"});
  EXPECT_EQ(show.code, 0) << show.err;
  EXPECT_THAT(show.out, HasSubstr("job 1  queued"));
  EXPECT_THAT(show.out, HasSubstr("attempt:      1 of 3"));
  EXPECT_THAT(show.out, HasSubstr("\"lc_rate\": 1"));
  EXPECT_THAT(show.out, HasSubstr("submitted"));  // history from the audit trail
  CliResult missing = Cli({"show", "999"});
  EXPECT_EQ(missing.code, 3);
  EXPECT_THAT(missing.err, HasSubstr("999"));
  EXPECT_EQ(Cli({"watch", "999"}).code, 3);
  EXPECT_EQ(Cli({"results", "999"}).code, 3);

  CliResult ev = Cli({"events", "--sweep", "1"});
  EXPECT_EQ(ev.code, 0);
  EXPECT_THAT(ev.out, HasSubstr("(new) -> queued"));
}

TEST_F(CliTest, DryRunNeedsNoCoordinatorAndWithOneShowsWhatIsDone) {
  std::string path = WriteSpec(TestSweep("offline", {1, 4}, {0}), "o.json");
  std::string dead = "127.0.0.1:" + std::to_string(::lcsweep::testing::PickFreePort());
  // No coordinator: the local expansion, exit 0, and a note why it is alone.
  CliResult r = Cli({"--coordinator", dead, "--timeout", "1", "submit", path, "--dry-run"}, /*raw=*/true);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("4 jobs; nothing was submitted"));
  EXPECT_THAT(r.out, HasSubstr("model.conv.lc_rate: 1 (2) 4 (2)"));
  EXPECT_THAT(r.out, HasSubstr("offline"));
  EXPECT_THAT(r.err, HasSubstr("cannot reach the coordinator at " + dead));
  // --offline does not even try; --json gives the plan in SubmitSweepResponse's shape.
  r = Cli({"--coordinator", dead, "submit", path, "--dry-run", "--offline", "--json"}, /*raw=*/true);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(nlohmann::json::parse(r.out)["jobs"].size(), 4u);
  // A real submission still needs the coordinator.
  r = Cli({"--coordinator", dead, "--timeout", "1", "submit", path}, /*raw=*/true);
  EXPECT_EQ(r.code, 5);

  // With the coordinator: finished jobs are reported as already done.
  Submit(TestSweep("offline", {1}, {0}));
  ASSERT_EQ(CompleteAll(RegisterWorker()).size(), 2u);
  r = Cli({"submit", path, "--dry-run"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("on the coordinator: 2 new, 0 already queued/running, 2 already done"));
  EXPECT_THAT(r.out, HasSubstr("reuse result [succeeded]"));
  EXPECT_EQ(nlohmann::json::parse(Cli({"ls", "--json"}).out)["sweeps"].size(), 1u);  // the dry run stored nothing
}

TEST_F(CliTest, CancelAndRetryJobsAndSweeps) {
  int64_t sweep = Submit(TestSweep("cancel_me", {1, 2}, {0}));
  ASSERT_EQ(sweep, 1);
  CliResult c = Cli({"cancel", "2", "--reason", "testing"});
  ASSERT_EQ(c.code, 0) << c.err;
  EXPECT_THAT(c.out, HasSubstr("job 2 is cancelled"));
  EXPECT_THAT(Cli({"events", "2"}).out, HasSubstr("testing"));
  CliResult r = Cli({"retry", "2"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("job 2 is queued"));
  // Retrying a queued job is refused: exit 1 with the coordinator's reason.
  r = Cli({"retry", "2"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("retrying job 2"));

  // A running job, then the whole sweep.
  int64_t worker = RegisterWorker();
  v1::Lease lease;
  ASSERT_TRUE(Lease(worker, &lease));
  c = Cli({"cancel", "--sweep", "1"});
  ASSERT_EQ(c.code, 0) << c.err;
  EXPECT_THAT(c.out, HasSubstr("3 queued jobs cancelled, 1 running jobs told to stop"));
  EXPECT_THAT(Cli({"jobs", "--sweep", "1", "--state", "cancelled"}).out, HasSubstr("4 jobs"));
  r = Cli({"retry", "--sweep", "1"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("re-queued 4 of 4 jobs"));
  EXPECT_THAT(Cli({"jobs", "--state", "queued"}).out, HasSubstr("4 jobs"));
  EXPECT_EQ(Cli({"cancel"}).code, 2);
  EXPECT_EQ(Cli({"cancel", "77"}).code, 3);
}

TEST_F(CliTest, ConnectionErrorsAreClearAndHaveTheirExitCodes) {
  int dead_port = ::lcsweep::testing::PickFreePort();
  std::string dead = "127.0.0.1:" + std::to_string(dead_port);
  CliResult r = Cli({"--coordinator", dead, "--timeout", "2", "ls"}, /*raw=*/true);
  EXPECT_EQ(r.code, 5);
  EXPECT_THAT(r.err, HasSubstr("cannot reach the coordinator at " + dead));
  EXPECT_THAT(r.err, HasSubstr("is lcsweep-coordinator running?"));
  EXPECT_THAT(r.err, HasSubstr("LCSWEEP_COORDINATOR"));

  r = Cli({"--coordinator", Address(), "--token", "not-a-valid-token-at-all", "ls"}, /*raw=*/true);
  EXPECT_EQ(r.code, 4);
  EXPECT_THAT(r.err, HasSubstr("refused the token"));
  r = Cli({"--coordinator", Address(), "ls"}, /*raw=*/true);
  EXPECT_EQ(r.code, 4);
  EXPECT_THAT(r.err, HasSubstr("none was given"));
  // A worker token may not use JobService.
  r = Cli({"--coordinator", Address(), "--token", kWorkerToken, "ls"}, /*raw=*/true);
  EXPECT_EQ(r.code, 4);

  // Health needs no token.
  r = Cli({"health", Address()}, /*raw=*/true);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("SERVING"));
  r = Cli({"--timeout", "2", "health", dead}, /*raw=*/true);
  EXPECT_EQ(r.code, 5);

  r = Cli({"frobnicate"}, /*raw=*/true);
  EXPECT_EQ(r.code, 2);
  r = Cli({"--help"}, /*raw=*/true);
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("Exit codes:"));
}

TEST_F(CliTest, SettingsComeFromEnvironmentThenConfigFile) {
  // Config file only.
  fs::create_directories(dir_ + "/config/lcsweep");
  std::ofstream(dir_ + "/token-file") << kAdminToken << "\n";
  std::ofstream(dir_ + "/config/lcsweep/config.json")
      << nlohmann::json{{"coordinator", Address()}, {"token_file", dir_ + "/token-file"}}.dump();
  CliResult r = Cli({"ls"}, /*raw=*/true);
  EXPECT_EQ(r.code, 0) << r.err;
  // The environment beats the file.
  setenv("LCSWEEP_COORDINATOR", "127.0.0.1:1", 1);
  r = Cli({"--timeout", "1", "ls"}, /*raw=*/true);
  EXPECT_EQ(r.code, 5);
  EXPECT_THAT(r.err, HasSubstr("127.0.0.1:1 (from LCSWEEP_COORDINATOR)"));
  // A flag beats the environment.
  r = Cli({"ls", "--coordinator", Address()}, /*raw=*/true);
  EXPECT_EQ(r.code, 0) << r.err;
  setenv("LCSWEEP_TOKEN", "wrong-token-wrong-token", 1);
  r = Cli({"ls", "--coordinator", Address()}, /*raw=*/true);
  EXPECT_EQ(r.code, 4);
  unsetenv("LCSWEEP_COORDINATOR");
  unsetenv("LCSWEEP_TOKEN");
  // A malformed file is named.
  std::ofstream(dir_ + "/config/lcsweep/config.json") << "{\"coordinatr\": \"x\"}";
  r = Cli({"ls"}, /*raw=*/true);
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("coordinatr"));
}

}  // namespace
}  // namespace lcsweep::cli_testing
