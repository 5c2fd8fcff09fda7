// The pure parts of `lcsweep results`: the pivot rendering with published
// numbers, on hand-made groups (the lookup itself: tests/analysis).
#include "cli/results.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/compare.h"
#include "cli/table.h"

namespace lcsweep::cli {
namespace {

using ::testing::HasSubstr;

JobConfig PaperConfig(int64_t lc_rate, const std::string& spatial) {
  JobConfig c;  // the defaults are the published recipe and architecture
  c.data.name = "cifar10";
  c.model.conv.lc_rate = lc_rate;
  c.model.conv.spatial = spatial;
  return c;
}

std::vector<GroupView> Groups() {
  std::vector<GroupView> g;
  for (int e : {1, 128}) {
    for (const char* sp : {"frozen", "learned"}) {
      GroupView v;
      v.axes = {{"model.conv.lc_rate", e}, {"model.conv.spatial", sp}};
      v.figures["final.test_accuracy"] = {0.9 + e / 10000.0, 0.001, 4};
      v.n_jobs = 4;
      v.config = PaperConfig(e, sp);
      g.push_back(v);
    }
  }
  return g;
}

TEST(RenderResultsTest, DefaultPivotAndPaperColumns) {
  ResultsOptions o;
  o.vs_paper = true;
  auto out = RenderResults(Groups(), o);
  ASSERT_TRUE(out.ok()) << out.status().message();
  // cols: spatial (2 values, as many as lc_rate: the later axis wins ties).
  EXPECT_THAT(*out, HasSubstr("lc_rate"));
  EXPECT_THAT(*out, HasSubstr("spatial=learned"));
  EXPECT_THAT(*out, HasSubstr("91.28 \xC2\xB1 0.10 (4)"));  // (0.9 + 0.0128) * 100
  EXPECT_THAT(*out, HasSubstr("91.89 \xC2\xB1 0.10"));      // paper, frozen x128
  EXPECT_THAT(*out, HasSubstr("91.39 \xC2\xB1 0.29"));      // paper, learned x128
  o.format = "json";
  auto js = RenderResults(Groups(), o);
  nlohmann::json doc = nlohmann::json::parse(*js);
  EXPECT_EQ(doc["cells"].size(), 4u);
  EXPECT_DOUBLE_EQ(doc["cells"][3]["paper"]["mean"].get<double>(), 0.9139);
}

TEST(RenderResultsTest, PendingGroupsAndErrors) {
  auto g = Groups();
  g[0].figures.clear();
  ResultsOptions o;
  auto out = RenderResults(g, o);
  ASSERT_TRUE(out.ok());
  EXPECT_THAT(*out, HasSubstr("no result (0/4)"));
  o.format = "xml";
  EXPECT_EQ(RenderResults(g, o).status().code(), StatusCode::kInvalidArgument);
  o.format = "table";
  for (auto& v : g) v.figures.clear();
  EXPECT_EQ(RenderResults(g, o).status().code(), StatusCode::kNotFound);
}

// Two arms over the same seeds 0..3 (paired) and one over other seeds
// (Welch): tests/analysis/significance_reference.py's A, B and W2.
std::vector<GroupView> Arms() {
  auto arm = [](const char* spatial, int64_t rate, std::vector<double> v, int64_t first_seed) {
    GroupView g;
    g.axes = {{"model.conv.lc_rate", rate}, {"model.conv.spatial", spatial}};
    std::vector<analysis::SeedValue> sv;
    for (size_t i = 0; i < v.size(); ++i) sv.push_back({first_seed + static_cast<int64_t>(i), v[i]});
    g.seed_values = sv;
    std::vector<double> values = v;
    g.figures["final.test_accuracy"] = analysis::ComputeStats(values);
    g.n_jobs = static_cast<int64_t>(v.size());
    g.config = PaperConfig(rate, spatial);
    return g;
  };
  return {arm("frozen", 8, {0.912, 0.905, 0.918, 0.909}, 0), arm("learned", 8, {0.897, 0.901, 0.893, 0.899}, 0),
          arm("frozen", 16, {0.70, 0.66, 0.72}, 10), arm("learned", 16, {0.99, 0.98}, 0)};
}

TEST(RenderCompareTest, EveryCellAgainstTheReferenceInEachFormat) {
  CompareArgs a;
  a.ref = "lc_rate=8,spatial=learned";
  auto out = RenderCompare(Arms(), a);
  ASSERT_TRUE(out.ok()) << out.status().message();
  // frozen x8 vs learned x8: paired, p = ttest_rel(A, B).pvalue = 0.05597.
  EXPECT_THAT(*out, HasSubstr("0.056"));
  EXPECT_THAT(*out, HasSubstr("paired"));
  EXPECT_THAT(*out, HasSubstr("welch"));
  EXPECT_THAT(*out, HasSubstr("(reference)"));
  EXPECT_THAT(*out, HasSubstr("98.50 \xC2\xB1 0.71 (2) !"));  // fewer than 3 seeds
  a.format = "json";
  nlohmann::json doc = nlohmann::json::parse(*RenderCompare(Arms(), a));
  ASSERT_EQ(doc["cells"].size(), 4u);
  const nlohmann::json& frozen8 = doc["cells"][0];
  EXPECT_EQ(frozen8["axes"]["model.conv.spatial"], "frozen");
  EXPECT_EQ(frozen8["vs_ref"]["test"], "paired");
  EXPECT_NEAR(frozen8["vs_ref"]["p"].get<double>(), 0.05596731908219923, 1e-12);
  EXPECT_EQ(frozen8["vs_ref"]["seeds_needed"], 6);
  EXPECT_TRUE(doc["cells"][1]["reference"].get<bool>());
  a.format = "csv";
  EXPECT_THAT(*RenderCompare(Arms(), a), HasSubstr(",paired,false,6,"));
  a.format = "latex";
  const std::string tex = *RenderCompare(Arms(), a);
  EXPECT_THAT(tex, HasSubstr("\\textbf{98.50"));      // best mean
  EXPECT_THAT(tex, HasSubstr("\\underline{91.10"));   // second best
  a.ref = "spatial=learned";  // two cells
  EXPECT_EQ(RenderCompare(Arms(), a).status().code(), StatusCode::kInvalidArgument);
  a.ref = "depth=20";
  EXPECT_EQ(RenderCompare(Arms(), a).status().code(), StatusCode::kInvalidArgument);
}

TEST(RenderResultsTest, VsAddsTheComparisonToEveryCell) {
  ResultsOptions o;
  o.rows = {"model.conv.lc_rate"};
  o.cols = "model.conv.spatial";
  o.vs = "lc_rate=8,spatial=learned";
  auto out = RenderResults(Arms(), o);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_THAT(*out, HasSubstr("(reference)"));
  EXPECT_THAT(*out, HasSubstr("+1.35 [-0.06, +2.76] p=0.056"));  // paired CI of the script, in % points
  o.format = "latex";
  const std::string tex = *RenderResults(Arms(), o);
  EXPECT_THAT(tex, HasSubstr("\\textbf{"));
  EXPECT_THAT(tex, HasSubstr("\\underline{"));
  o.format = "json";
  nlohmann::json doc = nlohmann::json::parse(*RenderResults(Arms(), o));
  int compared = 0;
  for (const auto& c : doc["cells"]) compared += c["vs_ref"].is_object();
  EXPECT_EQ(compared, 3);
  o.vs = "lc_rate=3";
  EXPECT_EQ(RenderResults(Arms(), o).status().code(), StatusCode::kInvalidArgument);
}

TEST(TableTest, EscapingInEachFormat) {
  Table t({"a", "b"});
  t.AddRow({"x,\"y\"", "50% & 1_2"});
  EXPECT_EQ(t.RenderCsv(), "a,b\n\"x,\"\"y\"\"\",50% & 1_2\n");
  EXPECT_THAT(t.RenderLatex(), HasSubstr("50\\% \\& 1\\_2"));
  Table m({"p|q"});
  EXPECT_THAT(m.RenderMarkdown(), HasSubstr("p\\|q"));
}

}  // namespace
}  // namespace lcsweep::cli
