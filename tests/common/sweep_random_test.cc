// The "random" expansion of the sweep spec: the documented draw rule
// (against an independent Python implementation of it), reproducibility,
// dedupe after the semantic hash, and field-path errors.
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/sweep_spec.h"

namespace lcsweep {
namespace {

using ::testing::HasSubstr;

const char* kSpec = R"({"name": "r", "base": {"data": {"name": "synthetic"}, "train": {"epochs": 1}},
  "random": {"samples": 4, "seed": 7, "axes": {
    "train.weight_decay": {"uniform": [0, 0.05]},
    "train.lr": {"log_uniform": [0.001, 0.1]},
    "model.conv.spatial": ["frozen", "learned"],
    "model.conv.lc_rate": {"int": [1, 16]}}},
  "seeds": [0, 1]})";

std::string Errors(const std::string& text) {
  auto r = ParseSweepTextWithErrors(text);
  std::string out;
  for (const auto& e : r.errors) out += e.ToString() + "\n";
  return out;
}

TEST(SweepRandomTest, DrawsFollowTheDocumentedRule) {
  auto s = ParseSweepText(kSpec);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->expansion, "random");
  ASSERT_EQ(s->jobs.size(), 8u);  // 4 samples x 2 seeds
  // SplitMix64(7), axes in path order (lc_rate, spatial, lr, weight_decay),
  // values of a Python implementation of sweep_spec.h's rule (the script:
  // lc = 1 + below(16); spatial = list[below(2)];
  // lr = float('%.6g' % exp(log(1e-3) + (log(1e-1) - log(1e-3)) * uniform()));
  // wd = float('%.6g' % (0.05 * uniform()))).
  struct Want {
    int64_t lc;
    const char* spatial;
    double lr, wd;
  };
  const Want want[] = {{8, "frozen", 0.0633172, 0.0291465},
                       {11, "learned", 0.00862792, 0.0164038},
                       {2, "learned", 0.00161109, 0.0479937},
                       {15, "frozen", 0.0534583, 0.0274144}};
  for (size_t i = 0; i < 4; ++i) {
    for (size_t seed = 0; seed < 2; ++seed) {
      const JobConfig& c = s->jobs[2 * i + seed].config;
      EXPECT_EQ(c.seed, static_cast<int64_t>(seed));
      EXPECT_EQ(c.model.conv.lc_rate, want[i].lc) << i;
      EXPECT_EQ(c.model.conv.spatial, want[i].spatial) << i;
      EXPECT_EQ(c.train.lr, want[i].lr) << i;
      EXPECT_EQ(c.train.weight_decay, want[i].wd) << i;
    }
  }
  EXPECT_EQ(s->axis_paths,
            (std::vector<std::string>{"model.conv.lc_rate", "model.conv.spatial", "train.lr", "train.weight_decay"}));
}

TEST(SweepRandomTest, ReproducibleAndSeeded) {
  auto a = ParseSweepText(kSpec), b = ParseSweepText(kSpec);
  ASSERT_TRUE(a.ok() && b.ok());
  for (size_t i = 0; i < a->jobs.size(); ++i) EXPECT_EQ(a->jobs[i].hash, b->jobs[i].hash);
  std::string other = kSpec;
  other.replace(other.find("\"seed\": 7"), 9, "\"seed\": 8");
  auto c = ParseSweepText(other);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(a->jobs[0].hash, c->jobs[0].hash);
}

TEST(SweepRandomTest, DrawsOfTheSameJobCollapse) {
  // Two settings only (and a run setting that is not part of the identity):
  // 20 draws give 2 jobs.
  auto s = ParseSweepText(R"({"name": "r", "base": {"data": {"name": "synthetic"}},
    "random": {"samples": 20, "axes": {"model.conv.spatial": ["frozen", "learned"],
                                        "train.threads": {"int": [1, 8]}}}})");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->jobs.size(), 2u);
  EXPECT_EQ(s->duplicates, 18);
}

TEST(SweepRandomTest, ErrorsNameTheirFieldPaths) {
  EXPECT_THAT(Errors(R"({"name": "r", "random": {"axes": {"train.lr": [0.1]}}})"), HasSubstr("random.samples:"));
  EXPECT_THAT(Errors(R"({"name": "r", "random": {"samples": 0, "axes": {"train.lr": [0.1]}}})"),
              HasSubstr("random.samples: found 0"));
  EXPECT_THAT(Errors(R"({"name": "r", "random": {"samples": -3, "axes": {"train.lr": [0.1]}}})"),
              HasSubstr("random.samples: found -3"));
  EXPECT_THAT(Errors(R"({"name": "r", "random": {"samples": 2, "axes": {"train.lr": {"log_uniform": [0, 1]}}}})"),
              HasSubstr("random.axes[\"train.lr\"].log_uniform: found an array of 2 values; expected [lo, hi]: two numbers, 0 < lo"));
  EXPECT_THAT(Errors(R"({"name": "r", "random": {"samples": 2, "axes": {"model.depth": {"uniform": [8, 20]}}}})"),
              HasSubstr("random.axes[\"model.depth\"]: "));
  EXPECT_THAT(Errors(R"({"name": "r", "random": {"samples": 2, "axes": {"train.lr": {"normal": [0, 1]}}}})"),
              HasSubstr("random.axes[\"train.lr\"]: found"));
  EXPECT_THAT(Errors(R"({"name": "r", "random": {"samples": 2, "axes": {"model.conv.lc_rate": {"int": [0, 4]}}}})"),
              HasSubstr("random.axes[\"model.conv.lc_rate\"].int[0]: found 0"));
  EXPECT_THAT(Errors(R"({"name": "r", "random": {"samples": 2, "sed": 1, "axes": {"train.lr": [0.1]}}})"),
              HasSubstr("did you mean \"seed\"?"));
  EXPECT_THAT(Errors(R"({"name": "r", "random": {"samples": 2, "axes": {"model.conv.spatial": {"int": [1, 2]}}}})"),
              HasSubstr("not a number"));
  EXPECT_THAT(Errors(R"({"name": "r", "grid": {"train.lr": [0.1]}, "random": {"samples": 2}})"),
              HasSubstr("random: found it together with \"grid\""));
  SweepLimits small;
  small.max_jobs = 10;
  auto r = ParseSweepTextWithErrors(R"({"name": "r", "random": {"samples": 6, "axes": {"train.lr": [0.1]}},
                                        "seeds": [0, 1]})", small);
  ASSERT_FALSE(r.errors.empty());
  EXPECT_THAT(r.errors[0].ToString(), HasSubstr("12 jobs"));
}

}  // namespace
}  // namespace lcsweep
