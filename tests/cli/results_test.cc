// The pure parts of `lcsweep results`: the pivot rendering with published
// numbers, on hand-made groups (the lookup itself: tests/analysis).
#include "cli/results.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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
