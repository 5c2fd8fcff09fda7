// The schema's rules, the pivot and the ablation on hand-made groups, against
// independently computed statistics.
#include "analysis/ablation.h"
#include "analysis/figures.h"
#include "analysis/pivot.h"

#include <cmath>

#include <gtest/gtest.h>

namespace lcsweep::analysis {
namespace {

GroupFigure Group(nlohmann::json axes, std::vector<double> values) {
  GroupFigure g;
  g.axes = std::move(axes);
  g.stats = ComputeStats(values);
  g.n_jobs = static_cast<int64_t>(values.size());
  return g;
}

TEST(FiguresTest, DefaultIsTheFullTestSetAccuracyAndAccuraciesArePercent) {
  EXPECT_EQ(DefaultFigure({"evaluation.clean.accuracy", "final.test_accuracy", "final.test_loss"}),
            "final.test_accuracy");
  EXPECT_EQ(DefaultFigure({"evaluation.clean.accuracy", "final.test_loss"}), "evaluation.clean.accuracy");
  EXPECT_EQ(DefaultFigure({}), "");
  for (const char* acc : {"final.test_accuracy", "final.test_top5", "evaluation.fgsm[eps=0.00392157].accuracy",
                          "evaluation.corruptions.fog[2]", "evaluation.corruptions.mean"}) {
    EXPECT_TRUE(IsAccuracy(acc)) << acc;
    EXPECT_TRUE(DescribeFigure(acc).percent) << acc;
  }
  for (const char* other : {"final.test_loss", "timings_s.total", "steps", "evaluation.corruptions.severities[0]",
                            "model.parameters.total", "final.test_n"}) {
    EXPECT_FALSE(IsAccuracy(other)) << other;
  }
  EXPECT_FALSE(DescribeFigure("final.test_loss").higher_is_better);
  EXPECT_EQ(DescribeFigure("timings_s.total").unit, Unit::kSeconds);
  EXPECT_EQ(DescribeFigure("steps").unit, Unit::kCount);
  EXPECT_NE(DescribeFigure(kFinalTestAccuracy).measured_on, DescribeFigure(kEvalCleanAccuracy).measured_on);
  EXPECT_EQ(SeriesUnit("epoch.seconds"), Unit::kSeconds);
  EXPECT_EQ(SeriesUnit("train.step_loss"), Unit::kLoss);
  EXPECT_EQ(SeriesUnit("train.lr"), Unit::kLearningRate);
  EXPECT_EQ(SeriesUnit("train/acc"), Unit::kFraction);
  EXPECT_EQ(SeriesUnit("train/images_per_s"), Unit::kRate);
  EXPECT_TRUE(IsProgressCounter("total_steps"));
  EXPECT_FALSE(IsProgressCounter("epoch.seconds"));
  EXPECT_EQ(SchemaJson()["default_figure"], kDefaultFigure);
  EXPECT_EQ(SchemaJson()["sections"]["fgsm"], "evaluation.fgsm");
}

TEST(PivotTest, PoolsGroupsOfACellAndReportsThePooledAxes) {
  std::vector<GroupFigure> groups = {
      Group({{"model.conv.lc_rate", 1}, {"model.conv.spatial", "frozen"}, {"model.depth", 8}}, {0.5, 0.6}),
      Group({{"model.conv.lc_rate", 1}, {"model.conv.spatial", "frozen"}, {"model.depth", 14}}, {0.7}),
      Group({{"model.conv.lc_rate", 8}, {"model.conv.spatial", "learned"}, {"model.depth", 8}}, {}),
  };
  PivotTable t = Pivot(groups, {{"model.conv.lc_rate"}, "model.conv.spatial"});
  EXPECT_EQ(t.pooled_axes, (std::vector<std::string>{"model.depth"}));
  ASSERT_EQ(t.row_keys.size(), 2u);
  EXPECT_EQ(t.col_values, (std::vector<nlohmann::json>{"frozen", "learned"}));
  ASSERT_TRUE(t.cells[0][0]);
  const Stats pooled = t.cells[0][0]->stats;  // {0.5, 0.6, 0.7}
  EXPECT_EQ(pooled.n, 3);
  EXPECT_NEAR(pooled.mean, 0.6, 1e-12);
  EXPECT_NEAR(pooled.std, 0.1, 1e-12);
  EXPECT_EQ(t.cells[0][0]->groups, 2);
  EXPECT_FALSE(t.cells[0][1]);                // no lc_rate 1 learned group
  ASSERT_TRUE(t.cells[1][1]);
  EXPECT_EQ(t.cells[1][1]->stats.n, 0);       // a group without results yet
  // With depth as a second row axis nothing is pooled.
  EXPECT_TRUE(Pivot(groups, {{"model.conv.lc_rate", "model.depth"}, "model.conv.spatial"}).pooled_axes.empty());
}

TEST(PivotTest, VariantAxisPlainConvLabelAndPublishedCells) {
  GroupFigure plain = Group({{"model.conv.mode", "learned"}, {"model.conv.lc_rate", 1}}, {0.93});
  GroupFigure lc = Group({{"model.conv.mode", "lc"}, {"model.conv.lc_rate", 128}}, {0.91, 0.92});
  JobConfig c;
  c.data.name = "cifar10";
  c.model.conv.lc_rate = 128;
  lc.published = MatchPublished(c);
  plain.published = PublishedMatch{std::nullopt, "some reason", {}};
  PivotTable t = Pivot({plain, lc}, {{kLcRateAxis}, kVariantAxis});
  EXPECT_TRUE(t.pooled_axes.empty());  // mode is covered by variant
  ASSERT_EQ(t.row_keys.size(), 2u);
  EXPECT_EQ(t.row_keys[0][0], 128);    // numbers before strings
  EXPECT_EQ(t.row_keys[1][0], kPlainConvLabel);
  EXPECT_EQ(t.col_values, (std::vector<nlohmann::json>{"LC frozen", "plain learned"}));
  ASSERT_TRUE(t.cells[0][0] && t.cells[0][0]->published);
  EXPECT_DOUBLE_EQ(t.cells[0][0]->published->mean, 0.9189);
  EXPECT_FALSE(t.cells[1][1]->published);
  EXPECT_EQ(t.published_cells, 1);
  EXPECT_EQ(t.first_mismatch, "some reason");
}

TEST(AblationTest, LinesPerVariantBaselineAndStdError) {
  std::vector<GroupFigure> groups = {
      Group({{"model.conv.mode", "learned"}, {"model.conv.lc_rate", 1}, {"model.conv.spatial", "frozen"}}, {0.9, 0.92}),
  };
  for (int e : {1, 8, 64}) {
    for (const char* sp : {"frozen", "learned"}) {
      groups.push_back(Group({{"model.conv.mode", "lc"}, {"model.conv.lc_rate", e}, {"model.conv.spatial", sp}},
                             {0.8 + e / 1000.0, 0.81 + e / 1000.0, 0.79 + e / 1000.0}));
    }
  }
  AblationPlot p = Ablation(groups, kLcRateAxis, {}, "acc");
  EXPECT_EQ(p.series_axes, (std::vector<std::string>{kVariantAxis}));
  EXPECT_TRUE(p.pooled_axes.empty());
  EXPECT_TRUE(p.log_x);
  ASSERT_EQ(p.lines.size(), 3u);
  EXPECT_EQ(p.lines[0].label, "LC frozen");
  ASSERT_EQ(p.lines[0].points.size(), 3u);
  EXPECT_EQ(p.lines[0].points[2].x, 64);
  EXPECT_NEAR(p.lines[0].points[2].stats.mean, 0.864, 1e-12);
  EXPECT_NEAR(StdError(p.lines[0].points[2].stats), 0.01 / std::sqrt(3.0), 1e-12);
  EXPECT_EQ(p.lines[2].label, "plain learned");
  EXPECT_TRUE(p.lines[2].baseline);
  ASSERT_EQ(p.lines[2].points.size(), 1u);
  EXPECT_TRUE(p.lines[2].points[0].x.is_null());  // no LC rate of its own
}

}  // namespace
}  // namespace lcsweep::analysis
