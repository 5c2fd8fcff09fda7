// Malformed sweeps: each must be rejected with exactly the listed error paths
// (every error of the document, not just the first).
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/sweep_spec.h"

namespace lcsweep {
namespace {

struct MalformedCase {
  const char* name;
  std::string text;
  std::vector<std::string> paths;
};

std::string Deep(int n) { return std::string(n, '[') + std::string(n, ']'); }

std::vector<MalformedCase> Cases() {
  return {
      {"not_an_object", R"([1, 2])", {"(document)"}},
      {"syntax_error", "{\"name\": \"x\",\n \"grid\": {\"model.width\": [8,]}}",
       {"grid[\"model.width\"][1]"}},
      {"duplicate_key", R"({"name": "x", "name": "y", "grid": {}})", {"name"}},
      {"duplicate_nested_key", R"({"name": "x", "list": [{}, {"model.width": 8, "model.width": 16}]})",
       {"list[1][\"model.width\"]"}},
      {"number_overflow", R"({"name": "x", "list": [{"train.lr": 1e999}]})",
       {"list[0][\"train.lr\"]"}},
      {"empty_grid", R"({"name": "x", "grid": {}})", {"grid"}},
      {"empty_one_factor", R"({"name": "x", "one_factor": {}})", {"one_factor"}},
      {"too_deep", R"({"name": "x", "list": [{}], "description": )" + Deep(100) + "}", {"(document)"}},
      {"missing_name", R"({"list": [{}]})", {"name"}},
      {"name_not_string", R"({"name": 5, "list": [{}]})", {"name"}},
      {"name_bad_chars", R"({"name": "my sweep!", "list": [{}]})", {"name"}},
      {"description_not_string", R"({"name": "x", "description": [], "list": [{}]})", {"description"}},
      {"unknown_top_key", R"({"name": "x", "list": [{}], "seed": [1]})", {"seed"}},
      {"no_expansion", R"({"name": "x"})", {"grid"}},
      {"two_expansions", R"({"name": "x", "grid": {"model.width": [8]}, "list": [{}]})", {"list"}},
      {"grid_not_object", R"({"name": "x", "grid": [1]})", {"grid"}},
      {"axis_not_array", R"({"name": "x", "grid": {"model.conv.lc_rate": 8}})",
       {"grid[\"model.conv.lc_rate\"]"}},
      {"axis_empty", R"({"name": "x", "grid": {"model.conv.lc_rate": []}})",
       {"grid[\"model.conv.lc_rate\"]"}},
      {"unknown_path", R"({"name": "x", "grid": {"model.conv.nope": [1]}})",
       {"grid[\"model.conv.nope\"]"}},
      {"group_path", R"({"name": "x", "grid": {"model.conv": [{"mode": "lc"}]}})",
       {"grid[\"model.conv\"]"}},
      {"seed_as_axis", R"({"name": "x", "grid": {"seed": [1, 2]}})", {"grid[\"seed\"]"}},
      {"value_out_of_range", R"({"name": "x", "grid": {"model.conv.lc_rate": [1, 2, 4, -2]}})",
       {"grid[\"model.conv.lc_rate\"][3]"}},
      {"value_wrong_type", R"({"name": "x", "grid": {"model.conv.spatial": ["frozen", 3]}})",
       {"grid[\"model.conv.spatial\"][1]"}},
      {"enum_typo", R"({"name": "x", "grid": {"model.conv.intermediate": ["none", "relu6"]}})",
       {"grid[\"model.conv.intermediate\"][1]"}},
      {"kernel_size", R"({"name": "x", "grid": {"model.kernel_size": [3, 4, 11]}})",
       {"grid[\"model.kernel_size\"][1]", "grid[\"model.kernel_size\"][2]"}},
      {"nested_list_value", R"({"name": "x", "grid": {"eval.severities": [[1, 2], [1, 9]]}})",
       {"grid[\"eval.severities\"][1][1]"}},
      {"corruption_name", R"({"name": "x", "grid": {"eval.corruptions": [["fog"], ["frog", "snow"]]}})",
       {"grid[\"eval.corruptions\"][1][0]"}},
      {"base_not_object", R"({"name": "x", "base": 3, "list": [{}]})", {"base"}},
      {"base_key_typo", R"({"name": "x", "base": {"model": {"conv": {"intermdiate": "relu"}}}, "list": [{}]})",
       {"base.model.conv.intermdiate"}},
      {"base_wrong_type", R"({"name": "x", "base": {"train": {"lr": "fast"}}, "list": [{}]})",
       {"base.train.lr"}},
      {"base_seed", R"({"name": "x", "base": {"seed": 3}, "list": [{}]})", {"base.seed"}},
      {"base_bad_eps", R"({"name": "x", "base": {"eval": {"fgsm_eps": [0.1, 1.5]}}, "list": [{}]})",
       {"base.eval.fgsm_eps[1]"}},
      {"seeds_not_array", R"({"name": "x", "list": [{}], "seeds": 4})", {"seeds"}},
      {"seeds_negative", R"({"name": "x", "list": [{}], "seeds": [0, -1]})", {"seeds[1]"}},
      {"seeds_duplicate", R"({"name": "x", "list": [{}], "seeds": [0, 1, 0]})", {"seeds[2]"}},
      {"priority_type", R"({"name": "x", "list": [{}], "priority": "high"})", {"priority"}},
      {"max_attempts_zero", R"({"name": "x", "list": [{}], "max_attempts": 0})", {"max_attempts"}},
      {"tags_not_strings", R"({"name": "x", "list": [{}], "tags": ["a", 1, "a"]})", {"tags[1]", "tags[2]"}},
      {"list_empty", R"({"name": "x", "list": []})", {"list"}},
      {"list_entry_not_object", R"({"name": "x", "list": [{}, 5]})", {"list[1]"}},
      {"list_unknown_path", R"({"name": "x", "list": [{"model.lcrate": 8}]})",
       {"list[0][\"model.lcrate\"]"}},
      {"list_bad_value", R"({"name": "x", "list": [{}, {"model.kernel_size": 4}]})",
       {"list[1][\"model.kernel_size\"]"}},
      {"one_factor_empty", R"({"name": "x", "one_factor": {}})", {"one_factor"}},
      {"one_factor_bad_value", R"({"name": "x", "one_factor": {"train.batch_size": [128, 0]}})",
       {"one_factor[\"train.batch_size\"][1]"}},
      // Impossible combinations, found per job and pinned on the value that causes them.
      {"folded_with_relu",
       R"({"name": "x", "base": {"model": {"conv": {"execution": "folded"}}},
           "grid": {"model.conv.intermediate": ["none", "relu"]}})",
       {"base.model.conv.execution"}},
      {"lc_rate_for_plain_conv",
       R"({"name": "x", "grid": {"model.conv.mode": ["learned", "lc"], "model.conv.lc_rate": [1, 8]}})",
       {"grid[\"model.conv.lc_rate\"][1]"}},
      {"list_lc_rate_for_plain_conv",
       R"({"name": "x", "list": [{"model.conv.mode": "learned", "model.conv.lc_rate": 128}]})",
       {"list[0][\"model.conv.lc_rate\"]"}},
      {"depth_not_6n_plus_2", R"({"name": "x", "grid": {"model.depth": [20, 21]}})",
       {"grid[\"model.depth\"][1]"}},
      {"gpu_memory_on_cpu",
       R"({"name": "x", "base": {"resources": {"device": "cpu"}},
           "grid": {"resources.min_gpu_memory_gb": [0, 8]}})",
       {"grid[\"resources.min_gpu_memory_gb\"][1]"}},
      {"sharing_learned",
       R"({"name": "x", "grid": {"model.conv.sharing": ["global"], "model.conv.spatial": ["frozen", "learned"]}})",
       {"grid[\"model.conv.sharing\"][0]"}},
      {"resnet18d_defaults", R"({"name": "x", "base": {"model": {"arch": "resnet18d"}}, "list": [{}]})",
       {"base.model.depth", "base.model.width"}},
      // Several independent mistakes: all reported together.
      {"many_errors",
       R"({"base": {"model": {"conv": {"intermdiate": "relu"}}}, "seeds": [0, 0],
           "grid": {"model.conv.lc_rate": [0, 8], "model.widht": [16]}, "prio": 1})",
       {"prio", "name", "base.model.conv.intermdiate", "seeds[1]", "grid[\"model.conv.lc_rate\"][0]",
        "grid[\"model.widht\"]"}},
  };
}

TEST(SweepMalformedTest, EachCaseReportsExactlyItsPaths) {
  std::vector<MalformedCase> cases = Cases();
  ASSERT_GE(cases.size(), 30u);
  for (const MalformedCase& c : cases) {
    SweepParseResult r = ParseSweepTextWithErrors(c.text);
    EXPECT_FALSE(r.sweep.has_value()) << c.name;
    std::vector<std::string> got;
    for (const FieldError& e : r.errors) {
      got.push_back(e.path);
      EXPECT_FALSE(e.found.empty()) << c.name;
      EXPECT_FALSE(e.expected.empty()) << c.name;
    }
    std::vector<std::string> want = c.paths;
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    std::string all;
    for (const FieldError& e : r.errors) all += "\n  " + e.ToString();
    EXPECT_EQ(got, want) << c.name << ":" << all;
    // The Status form carries the same lines.
    auto st = ParseSweepText(c.text);
    ASSERT_FALSE(st.ok()) << c.name;
    EXPECT_EQ(st.status().code(), StatusCode::kInvalidArgument);
    for (const FieldError& e : r.errors) {
      EXPECT_NE(st.status().message().find(e.ToString()), std::string::npos) << c.name;
    }
  }
}

std::string ErrorsOf(const std::string& text) {
  std::string all;
  for (const FieldError& e : ParseSweepTextWithErrors(text).errors) all += e.ToString() + "\n";
  return all;
}

TEST(SweepMalformedTest, MessagesSayWhatWasFoundAndWhatIsAllowed) {
  EXPECT_EQ(ErrorsOf(R"({"name": "x", "grid": {"model.conv.lc_rate": [1, 2, 4, -2]}})"),
            "grid[\"model.conv.lc_rate\"][3]: found -2; expected an integer in [1, 4096]\n");
  std::string typo = ErrorsOf(
      R"({"name": "x", "base": {"model": {"conv": {"intermdiate": "relu"}}}, "list": [{}]})");
  EXPECT_EQ(typo.rfind("base.model.conv.intermdiate: found an unknown key; expected one of "
                       "\"execution\", \"init\", \"intermediate\", \"lc_rate\", \"mode\", "
                       "\"sharing\" or \"spatial\"; did you mean \"intermediate\"?",
                       0),
            0u)
      << typo;
  EXPECT_EQ(ErrorsOf(R"({"name": "x", "grid": {"model.conv.intermediate": ["relu6"]}})"),
            "grid[\"model.conv.intermediate\"][0]: found \"relu6\"; expected one of \"none\", "
            "\"relu\", \"bn\" or \"bn_relu\"; did you mean \"relu\"?\n");
  EXPECT_NE(ErrorsOf(R"({"name": "x", "grid": {"lc_rate": [8]}})")
                .find("grid[\"lc_rate\"]: found an unknown path; expected a dotted path to a job "
                      "config field, such as \"model.conv.lc_rate\"; did you mean "
                      "\"model.conv.lc_rate\"?"),
            std::string::npos);
  std::string syntax = ErrorsOf("{\"name\": \"x\",\n \"grid\": {\"model.width\": [8,]}}");
  EXPECT_NE(syntax.find("line 2, column"), std::string::npos) << syntax;
  EXPECT_NE(syntax.find("(byte "), std::string::npos) << syntax;
  std::string combo = ErrorsOf(
      R"({"name": "x", "grid": {"model.conv.mode": ["learned"], "model.conv.lc_rate": [8]}})");
  EXPECT_NE(combo.find("grid[\"model.conv.lc_rate\"][0]: found 8; expected 1 (the default): it "
                       "applies only to model.conv.mode \"lc\", not \"learned\""),
            std::string::npos)
      << combo;
  std::string top = ErrorsOf(R"({"name": "x", "list": [{}], "seed": [1]})");
  EXPECT_NE(top.find("did you mean \"seeds\"?"), std::string::npos) << top;
}

}  // namespace
}  // namespace lcsweep
