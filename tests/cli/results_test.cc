// The pure parts of `lcsweep results`: the paper lookup (PAPER.md section 7)
// and the pivot rendering, on hand-made groups.
#include "cli/results.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/table.h"

namespace lcsweep::cli {
namespace {

using ::testing::HasSubstr;

v1::JobSummary PaperSummary() {
  v1::JobSummary s;
  s.set_arch("resnet_cifar");
  s.set_depth(20);
  s.set_width(16);
  s.set_kernel_size(3);
  s.set_init("kaiming_uniform");
  s.set_sharing("none");
  s.set_intermediate("none");
  s.set_dataset("cifar10");
  s.set_conv_mode("lc");
  s.set_lc_rate(128);
  s.set_spatial("frozen");
  s.set_epochs(75);
  return s;
}

TEST(LookupPaperTest, Table1Table3AndImageNet) {
  v1::JobSummary s = PaperSummary();
  auto p = LookupPaper(s);
  ASSERT_TRUE(p);
  EXPECT_DOUBLE_EQ(p->mean, 91.89);
  EXPECT_DOUBLE_EQ(p->std, 0.10);
  s.set_dataset("cifar100");
  s.set_spatial("learned");
  EXPECT_DOUBLE_EQ(LookupPaper(s)->mean, 59.44);
  s.set_dataset("svhn");
  s.set_conv_mode("learned");
  EXPECT_DOUBLE_EQ(LookupPaper(s)->mean, 96.36);
  // Table 3: x64 intermediate ops on CIFAR-10.
  s = PaperSummary();
  s.set_lc_rate(64);
  s.set_intermediate("bn_relu");
  s.set_spatial("learned");
  EXPECT_DOUBLE_EQ(LookupPaper(s)->mean, 94.72);
  s.set_spatial("frozen");
  s.set_intermediate("relu");
  EXPECT_DOUBLE_EQ(LookupPaper(s)->mean, 92.78);
  EXPECT_LT(LookupPaper(s)->std, 0);
  // No number for E=64 elsewhere, nor for other depths.
  s.set_dataset("svhn");
  std::string why;
  EXPECT_FALSE(LookupPaper(s, &why));
  EXPECT_THAT(why, HasSubstr("E 64 (paper: 128)"));
  s = PaperSummary();
  s.set_depth(8);
  EXPECT_FALSE(LookupPaper(s, &why));
  EXPECT_THAT(why, HasSubstr("depth 8 (paper: 20)"));
  s = PaperSummary();
  s.set_arch("resnet18d");
  s.set_dataset("imagenet");
  s.set_lc_rate(64);
  EXPECT_DOUBLE_EQ(LookupPaper(s)->mean, 72.46);
  s.set_conv_mode("frozen");
  EXPECT_DOUBLE_EQ(LookupPaper(s)->mean, 37.85);
}

std::vector<GroupView> Groups() {
  std::vector<GroupView> g;
  for (int e : {1, 128}) {
    for (const char* sp : {"frozen", "learned"}) {
      GroupView v;
      v.axes = {{"model.conv.lc_rate", e}, {"model.conv.spatial", sp}};
      v.figures["final.test_accuracy"] = {0.9 + e / 10000.0, 0.001, 4};
      v.n_jobs = 4;
      v1::JobSummary s = PaperSummary();
      s.set_lc_rate(e);
      s.set_spatial(sp);
      v.summary = s;
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
