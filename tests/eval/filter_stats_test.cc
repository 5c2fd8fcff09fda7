// Filter statistics against hand-computed values (docs/method.md section 6).
#include "worker/eval/filter_stats.h"

#include <gtest/gtest.h>

#include <cmath>

namespace lcsweep::eval {
namespace {

class FilterStatsTest : public ::testing::Test {
 protected:
  void SetUp() override { torch::set_num_threads(2); }
};

TEST_F(FilterStatsTest, SparsityCountsKernelsBelowOnePercentOfLayerMax) {
  torch::Tensor w = torch::zeros({2, 2, 3, 3}, torch::kDouble);
  w[0][0].fill_(0.05);         // all below t = 0.1: sparse
  w[0][1].fill_(0.05);
  w[0][1][1][1] = 0.2;         // one entry above t: dense
  /* w[1][0] stays zero */     // sparse
  w[1][1][2][2] = -10.0;       // the layer max (by magnitude): dense
  EXPECT_DOUBLE_EQ(Sparsity(w), 0.5);
  w[0][0][0][0] = 0.1;         // exactly t is not below t
  EXPECT_DOUBLE_EQ(Sparsity(w), 0.25);
  EXPECT_DOUBLE_EQ(Sparsity(torch::zeros({2, 2, 3, 3})), 1.0);
}

TEST_F(FilterStatsTest, FveOfTwoEqualVarianceDirectionsIsLog2) {
  // Kernels +-a e1, +-b e2: centred, singular values sqrt(2) a, sqrt(2) b.
  torch::Tensor w = torch::zeros({2, 2, 3, 3}, torch::kDouble);
  w[0][0][0][0] = 1;
  w[0][1][0][0] = -1;
  w[1][0][1][1] = 1;
  w[1][1][1][1] = -1;
  EXPECT_NEAR(Fve(w), std::log10(2.0), 1e-12);
  w[1][0][1][1] = 0.5;  // p = (0.8, 0.2)
  w[1][1][1][1] = -0.5;
  EXPECT_NEAR(Fve(w), 0.21732201127364886, 1e-12);
  EXPECT_NEAR(NormalisedFve(w), 0.21732201127364886 / 0.23568113110556704, 1e-9);  // thr(N = 4)
}

TEST_F(FilterStatsTest, ThresholdMatchesFormulaValues) {
  // Values of thr(N) computed independently (Python, math module).
  EXPECT_NEAR(FveThreshold(16), 0.722083053750588, 1e-12);
  EXPECT_NEAR(FveThreshold(4096), 0.9510656192297127, 1e-12);
  EXPECT_NEAR(FveThreshold(9), 0.5515074123394546, 1e-12);
}

TEST_F(FilterStatsTest, RepeatedPatternHasZeroFve) {
  torch::Tensor pattern = torch::randn({3, 3}, torch::kDouble);
  torch::Tensor scale = torch::randn({8, 4, 1, 1}, torch::kDouble);
  EXPECT_NEAR(Fve(scale * pattern), 0.0, 1e-9);
  EXPECT_NEAR(NormalisedFve(scale * pattern), 0.0, 1e-9);
  // Identical kernels: no variance at all, FVE undefined.
  EXPECT_TRUE(std::isnan(Fve(pattern.expand({8, 4, 3, 3}))));
}

TEST_F(FilterStatsTest, IidRandomKernelsHaveNormalisedFveNearOne) {
  torch::manual_seed(0);
  torch::Tensor w = torch::rand({64, 64, 3, 3}) * 2 - 1;
  const double nfve = NormalisedFve(w);
  EXPECT_GT(nfve, 0.97);
  EXPECT_LT(nfve, 1.05);
  EXPECT_LE(Fve(w), std::log10(9.0) + 1e-12);  // entropy bound for 9 directions
  EXPECT_TRUE(std::isnan(NormalisedFve(torch::rand({4, 4, 5, 5}))));  // 3x3 only
}

TEST_F(FilterStatsTest, OrthogonalityOfOrthogonalAndHandMadeFilters) {
  torch::manual_seed(1);
  torch::Tensor q = std::get<0>(torch::linalg_qr(torch::randn({9, 9}, torch::kDouble)));
  EXPECT_NEAR(Orthogonality(q.view({9, 1, 3, 3}) * 3.0), 1.0, 1e-12);  // scale-free
  // Two filters e1 and (e1 + e2)/sqrt2 (flattened): off-diagonals 1/sqrt2.
  torch::Tensor w = torch::zeros({2, 1, 1, 2}, torch::kDouble);
  w[0][0][0][0] = 1;
  w[1][0][0][0] = 1;
  w[1][0][0][1] = 1;
  EXPECT_NEAR(Orthogonality(w), 1 - std::sqrt(2.0) / 2, 1e-12);
  // Identical filters: 0.
  EXPECT_NEAR(Orthogonality(torch::ones({5, 2, 3, 3})), 0.0, 1e-12);
  EXPECT_TRUE(std::isnan(Orthogonality(torch::ones({1, 2, 3, 3}))));
}

TEST_F(FilterStatsTest, JsonMarksNotApplicableEntriesAsNull) {
  torch::manual_seed(2);
  nn::SpatialLayerView lc;
  lc.name = "stem";
  lc.index = 0;
  lc.spatial = torch::rand({32, 3, 3, 3}) - 0.5;
  lc.combination = torch::rand({4, 32, 1, 1}) - 0.5;
  lc.folded = torch::einsum("om,mikl->oikl", {lc.combination.flatten(1), lc.spatial});
  nn::SpatialLayerView plain;
  plain.name = "conv5";
  plain.index = 1;
  plain.spatial = torch::rand({4, 4, 5, 5});
  plain.folded = plain.spatial;
  nlohmann::json j = LayerFilterStats({lc, plain});
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["name"], "stem");
  EXPECT_NEAR(j[0]["S"]["fve"].get<double>(), Fve(lc.spatial), 1e-12);
  EXPECT_TRUE(j[0]["P"]["fve"].is_null());
  EXPECT_TRUE(j[0]["P"]["fve_normalised"].is_null());
  EXPECT_NEAR(j[0]["P"]["sparsity"].get<double>(), Sparsity(lc.combination), 1e-12);
  EXPECT_NEAR(j[0]["P"]["orthogonality"].get<double>(), Orthogonality(lc.combination), 1e-12);
  EXPECT_NEAR(j[0]["folded"]["orthogonality"].get<double>(), Orthogonality(lc.folded), 1e-12);
  EXPECT_TRUE(j[1]["P"].is_null());
  EXPECT_TRUE(j[1]["S"]["fve_normalised"].is_null());  // 5x5
  EXPECT_FALSE(j[1]["S"]["fve"].is_null());
}

}  // namespace
}  // namespace lcsweep::eval
