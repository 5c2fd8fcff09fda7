// The published numbers: matching on a JobConfig, the reasons when the
// architecture differs, the recipe differences, and the one figure they
// compare with. Expected values are the tables' own (docs/results.md).
#include "analysis/published.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "analysis/figures.h"

namespace lcsweep::analysis {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

JobConfig Paper(const std::string& dataset, const std::string& mode, int64_t rate, const std::string& spatial) {
  JobConfig c;
  c.data.name = dataset;
  c.model.conv.mode = mode;
  c.model.conv.lc_rate = rate;
  c.model.conv.spatial = spatial;
  return c;
}

TEST(MatchPublishedTest, Table1Table3AndImageNet) {
  auto m = MatchPublished(Paper("cifar10", "lc", 128, "frozen"));
  ASSERT_TRUE(m.number);
  EXPECT_DOUBLE_EQ(m.number->mean, 0.9189);
  EXPECT_DOUBLE_EQ(*m.number->std, 0.0010);
  EXPECT_THAT(m.number->source, HasSubstr("Table 1"));
  EXPECT_TRUE(m.recipe_differences.empty());
  EXPECT_DOUBLE_EQ(MatchPublished(Paper("cifar100", "lc", 128, "learned")).number->mean, 0.5944);
  EXPECT_DOUBLE_EQ(MatchPublished(Paper("svhn", "learned", 1, "frozen")).number->mean, 0.9636);
  EXPECT_DOUBLE_EQ(MatchPublished(Paper("fashion_mnist", "learned", 1, "frozen")).number->std.value(), 0.0018);

  JobConfig t3 = Paper("cifar10", "lc", 64, "learned");
  t3.model.conv.intermediate = "bn_relu";
  EXPECT_DOUBLE_EQ(MatchPublished(t3).number->mean, 0.9472);
  t3.model.conv.spatial = "frozen";
  t3.model.conv.intermediate = "relu";
  auto relu = MatchPublished(t3);
  EXPECT_DOUBLE_EQ(relu.number->mean, 0.9278);
  EXPECT_FALSE(relu.number->std.has_value());  // Table 3 gives no std: no std, not 0

  JobConfig in = Paper("imagenet", "lc", 64, "frozen");
  in.model.arch = "resnet18d";
  EXPECT_DOUBLE_EQ(MatchPublished(in).number->mean, 0.7246);
  in.model.conv.mode = "frozen";
  EXPECT_DOUBLE_EQ(MatchPublished(in).number->mean, 0.3785);
}

TEST(MatchPublishedTest, ArchitectureDifferencesSayWhyThereIsNoNumber) {
  JobConfig c = Paper("cifar10", "lc", 8, "frozen");
  auto m = MatchPublished(c);
  EXPECT_FALSE(m.number);
  EXPECT_EQ(m.mismatch, "E 8 (paper: 128)");
  c.model.depth = 8;
  c.model.width = 8;
  EXPECT_EQ(MatchPublished(c).mismatch, "depth 8 (paper: 20), width 8 (paper: 16)");
  EXPECT_THAT(MatchPublished(Paper("mnist", "learned", 1, "frozen")).mismatch, HasSubstr("data set mnist"));
  JobConfig inter = Paper("cifar10", "lc", 128, "frozen");
  inter.model.conv.intermediate = "relu";
  EXPECT_EQ(MatchPublished(inter).mismatch, "intermediate relu (paper: none)");
}

TEST(MatchPublishedTest, RecipeDifferencesKeepTheNumberAndSayWhat) {
  JobConfig c = Paper("fashion_mnist", "lc", 128, "frozen");
  c.train.epochs = 2;
  c.train.lr = 0.1;
  c.data.train_limit = 512;
  c.data.test_limit = 256;
  auto m = MatchPublished(c);
  ASSERT_TRUE(m.number);
  EXPECT_DOUBLE_EQ(m.number->mean, 0.9365);
  EXPECT_THAT(m.recipe_differences,
              ElementsAre("train.epochs 2 (paper: 75)", "train.lr 0.1 (paper: 0.01)",
                          "data.train_limit 512 (paper: the full training set)",
                          "data.test_limit 256 (paper: the full test set)"));
}

TEST(PublishedComparabilityTest, OnlyTheFullTestSetAccuracyCompares) {
  EXPECT_EQ(PublishedComparability(kFinalTestAccuracy), "");
  EXPECT_THAT(PublishedComparability(kEvalCleanAccuracy), HasSubstr("first eval.robustness_limit test images"));
  EXPECT_THAT(PublishedComparability("evaluation.clean.loss"), HasSubstr("final.test_accuracy"));
}

TEST(PublishedJsonTest, NoStdIsNull) {
  PublishedNumber n{0.9278, std::nullopt, "Table 3"};
  auto j = PublishedJson(n, {"train.epochs 2 (paper: 75)"});
  EXPECT_TRUE(j["std"].is_null());
  EXPECT_EQ(j["recipe_differences"].size(), 1u);
}

}  // namespace
}  // namespace lcsweep::analysis
