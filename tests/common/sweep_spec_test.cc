#include "common/sweep_spec.h"

#include <set>

#include <gtest/gtest.h>

#include "common/job_config_json.h"

namespace lcsweep {
namespace {

using nlohmann::json;

Sweep MustParse(const std::string& text, const SweepLimits& limits = {}) {
  auto s = ParseSweepText(text, limits);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  if (!s.ok()) return Sweep{};
  return std::move(s).value();
}

TEST(SweepSpecTest, GridCount8x2x4Is64) {
  Sweep s = MustParse(R"({
    "name": "curve", "base": {"data": {"name": "cifar10"}},
    "grid": {"model.conv.lc_rate": [1, 2, 4, 8, 16, 32, 64, 128],
             "model.conv.spatial": ["frozen", "learned"]},
    "seeds": [0, 1, 2, 3], "priority": 5, "max_attempts": 2, "tags": ["a", "b"]})");
  EXPECT_EQ(s.jobs.size(), 64u);
  EXPECT_EQ(s.expansion, "grid");
  EXPECT_EQ(s.axis_paths, (std::vector<std::string>{"model.conv.lc_rate", "model.conv.spatial"}));
  EXPECT_EQ(s.priority, 5);
  EXPECT_EQ(s.max_attempts, 2);
  EXPECT_EQ(s.tags, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s.duplicates, 0);
  std::set<std::string> hashes, groups;
  std::set<std::pair<int64_t, std::string>> settings;
  for (const ExpandedJob& j : s.jobs) {
    hashes.insert(j.hash);
    groups.insert(j.group_hash);
    EXPECT_EQ(j.config.data.name, "cifar10");
    EXPECT_EQ(j.hash, JobConfigHash(j.config));
    EXPECT_EQ(j.canonical_json, CanonicalJobJson(j.config));
    EXPECT_EQ(j.config_json, JobConfigToJson(j.config));
    EXPECT_EQ(j.axes.size(), 3u);
    EXPECT_EQ(j.axes.at("model.conv.lc_rate"), j.config.model.conv.lc_rate);
    EXPECT_EQ(j.axes.at("model.conv.spatial"), j.config.model.conv.spatial);
    EXPECT_EQ(j.axes.at("seed"), j.config.seed);
    settings.insert({j.config.model.conv.lc_rate, j.config.model.conv.spatial});
  }
  EXPECT_EQ(hashes.size(), 64u);
  EXPECT_EQ(groups.size(), 16u);  // seeds grouped
  EXPECT_EQ(settings.size(), 16u);
  EXPECT_EQ(s.jobs[0].origin, "grid[\"model.conv.lc_rate\"][0], grid[\"model.conv.spatial\"][0], seeds[0]");
}

TEST(SweepSpecTest, DefaultSeedIsZeroAndAnEmptyListEntryIsTheBase) {
  Sweep s = MustParse(R"({"name": "one", "list": [{}]})");
  ASSERT_EQ(s.jobs.size(), 1u);
  EXPECT_EQ(s.jobs[0].hash, JobConfigHash(JobConfig{}));
  EXPECT_EQ(s.priority, 0);
  EXPECT_EQ(s.max_attempts, 3);
}

TEST(SweepSpecTest, ListCount) {
  Sweep s = MustParse(R"({
    "name": "t1",
    "list": [{"model.conv.mode": "learned"},
             {"model.conv.lc_rate": 128, "model.conv.spatial": "learned"},
             {"model.conv.lc_rate": 128}],
    "seeds": [0, 1, 2, 3]})");
  ASSERT_EQ(s.jobs.size(), 12u);
  EXPECT_EQ(s.expansion, "list");
  EXPECT_EQ(s.axis_paths, (std::vector<std::string>{"model.conv.lc_rate", "model.conv.mode",
                                                    "model.conv.spatial"}));
  // Every job records every axis, with its effective value.
  EXPECT_EQ(s.jobs[0].axes.at("model.conv.lc_rate"), 1);
  EXPECT_EQ(s.jobs[0].axes.at("model.conv.mode"), "learned");
  EXPECT_EQ(s.jobs[11].axes.at("model.conv.spatial"), "frozen");
  EXPECT_EQ(s.jobs[4].origin, "list[1], seeds[0]");
}

TEST(SweepSpecTest, OneFactorCountsBaseOnceAndSkipsBaseValues) {
  // Base: kaiming_uniform, k = 3, E = 8. Init axis: 3 values, one equal to the
  // base; kernel axis: 3 values, one equal to the base.
  Sweep s = MustParse(R"({
    "name": "of", "base": {"model": {"conv": {"lc_rate": 8}}},
    "one_factor": {"model.conv.init": ["kaiming_uniform", "sign", "orthogonal"],
                   "model.kernel_size": [3, 5, 7]},
    "seeds": [0, 1]})");
  // (1 base + 2 + 2) x 2 seeds.
  EXPECT_EQ(s.jobs.size(), 10u);
  EXPECT_EQ(s.duplicates, 0);
  EXPECT_EQ(s.jobs[0].origin, "base, seeds[0]");
  int varied_both = 0;
  for (const ExpandedJob& j : s.jobs) {
    if (j.config.model.conv.init != "kaiming_uniform" && j.config.model.kernel_size != 3) ++varied_both;
    EXPECT_EQ(j.config.model.conv.lc_rate, 8);
  }
  EXPECT_EQ(varied_both, 0);
  // Values equal to the base in another spelling (1e-1, 75.0) are the base too.
  Sweep t = MustParse(R"({"name": "of2", "base": {"train": {"lr": 0.1}},
    "one_factor": {"train.lr": [0.1, 1e-1, 0.2], "train.epochs": [75.0, 10]}})");
  EXPECT_EQ(t.jobs.size(), 3u);
}

TEST(SweepSpecTest, DuplicatesCollapsedCountedReported) {
  Sweep s = MustParse(R"({
    "name": "dups",
    "list": [{"model.conv.lc_rate": 8}, {"model.conv.lc_rate": 8.0},
             {}, {"model.conv.lc_rate": 1}],
    "seeds": [0, 1]})");
  EXPECT_EQ(s.jobs.size(), 4u);
  EXPECT_EQ(s.duplicates, 4);
  ASSERT_EQ(s.notes.size(), 4u);
  EXPECT_EQ(s.notes[0].rfind("list[1], seeds[0] is the same job as list[0], seeds[0]", 0), 0u)
      << s.notes[0];
  EXPECT_EQ(s.notes[2].rfind("list[3], seeds[0] is the same job as list[2], seeds[0]", 0), 0u)
      << s.notes[2];
}

TEST(SweepSpecTest, ExplicitDefaultsInBaseHashLikeOmittedOnes) {
  Sweep a = MustParse(R"({"name": "a", "grid": {"model.conv.lc_rate": [4]}})");
  Sweep b = MustParse(R"({"name": "b", "base": {"model": {"depth": 20, "conv": {"mode": "lc"}},
                         "train": {"lr": 0.01, "momentum": 0.9}},
                         "grid": {"model.conv.lc_rate": [4.0]}, "seeds": [0]})");
  ASSERT_EQ(a.jobs.size(), 1u);
  ASSERT_EQ(b.jobs.size(), 1u);
  EXPECT_EQ(a.jobs[0].hash, b.jobs[0].hash);
}

TEST(SweepSpecTest, GuardOnExpansionSize) {
  // 10^6 jobs: rejected before any job is built.
  std::string big = R"({"name": "big", "grid": {)";
  big += R"("model.conv.lc_rate": [1,2,3,4,5,6,7,8,9,10], "model.width": [1,2,3,4,5,6,7,8,9,10],)";
  big += R"("train.epochs": [1,2,3,4,5,6,7,8,9,10], "train.batch_size": [1,2,3,4,5,6,7,8,9,10],)";
  big += R"("train.lr": [1,2,3,4,5,6,7,8,9,10], "data.train_limit": [1,2,3,4,5,6,7,8,9,10]}})";
  auto r = ParseSweepTextWithErrors(big);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].path, "grid");
  EXPECT_EQ(r.errors[0].found, "1000000 jobs");
  EXPECT_EQ(r.errors[0].expected, "at most 100000 jobs in one sweep");
  // A custom limit.
  SweepLimits small;
  small.max_jobs = 10;
  auto r2 = ParseSweepTextWithErrors(
      R"({"name": "s", "grid": {"model.conv.lc_rate": [1, 2, 3]}, "seeds": [0, 1, 2, 3]})", small);
  ASSERT_EQ(r2.errors.size(), 1u);
  EXPECT_EQ(r2.errors[0].found, "12 jobs");
}

TEST(SweepSpecTest, SpecIsKeptAndStructuredPathsExposed) {
  auto r = ParseSweepTextWithErrors(R"({"name": "x", "grid": {"model.conv.lc_rate": [0, 8]}})");
  ASSERT_FALSE(r.sweep.has_value());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].path, "grid[\"model.conv.lc_rate\"][0]");
  EXPECT_EQ(r.errors[0].found, "0");
  EXPECT_EQ(r.errors[0].expected, "an integer in [1, 4096]");
  auto st = ParseSweepText(R"({"name": "x", "grid": {"model.conv.lc_rate": [0, 8]}})");
  EXPECT_EQ(st.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.status().message(),
            "invalid sweep:\ngrid[\"model.conv.lc_rate\"][0]: found 0; expected an integer in [1, 4096]");
  Sweep s = MustParse(R"({"name": "x", "description": "d", "grid": {"model.conv.lc_rate": [8]}})");
  EXPECT_EQ(s.spec["grid"]["model.conv.lc_rate"][0], 8);
  EXPECT_EQ(s.description, "d");
}

}  // namespace
}  // namespace lcsweep
