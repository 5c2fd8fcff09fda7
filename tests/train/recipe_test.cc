// Schedules at known steps and label smoothing against an independent formula.
#include "worker/train/recipe.h"

#include <gtest/gtest.h>

#include <cmath>

namespace lcsweep::train {
namespace {

TEST(Schedule, CosinePerIterationToZero) {
  TrainConfig t;
  t.lr = 0.01;
  t.epochs = 4;
  t.schedule = "cosine";
  const int64_t spe = 25, total = 100;
  EXPECT_DOUBLE_EQ(LearningRate(t, 0, spe), 0.01);
  EXPECT_NEAR(LearningRate(t, 50, spe), 0.005, 1e-15);
  EXPECT_NEAR(LearningRate(t, 25, spe), 0.01 * (1 + std::cos(M_PI / 4)) / 2, 1e-15);
  EXPECT_NEAR(LearningRate(t, total - 1, spe), 0.01 * (1 + std::cos(M_PI * 99 / 100)) / 2, 1e-15);
  EXPECT_NEAR(LearningRate(t, total, spe), 0.0, 1e-18);
  for (int64_t s = 1; s < total; ++s) ASSERT_LT(LearningRate(t, s, spe), LearningRate(t, s - 1, spe));
}

TEST(Schedule, WarmupThenCosine) {
  TrainConfig t;
  t.lr = 0.1;
  t.epochs = 5;
  t.warmup_epochs = 1;
  const int64_t spe = 10;
  EXPECT_NEAR(LearningRate(t, 0, spe), 0.01, 1e-15);
  EXPECT_NEAR(LearningRate(t, 4, spe), 0.05, 1e-15);
  EXPECT_NEAR(LearningRate(t, 9, spe), 0.1, 1e-15);
  EXPECT_NEAR(LearningRate(t, 10, spe), 0.1, 1e-15);             // cosine starts at the peak
  EXPECT_NEAR(LearningRate(t, 30, spe), 0.05, 1e-15);            // halfway through 40 cosine steps
}

TEST(Schedule, StepAndConstant) {
  TrainConfig t;
  t.lr = 0.1;
  t.epochs = 90;
  t.schedule = "step";
  t.step_epochs = 30;
  t.step_gamma = 0.1;
  const int64_t spe = 7;
  EXPECT_DOUBLE_EQ(LearningRate(t, 0, spe), 0.1);
  EXPECT_DOUBLE_EQ(LearningRate(t, 30 * spe - 1, spe), 0.1);
  EXPECT_NEAR(LearningRate(t, 30 * spe, spe), 0.01, 1e-15);
  EXPECT_NEAR(LearningRate(t, 60 * spe + 3, spe), 0.001, 1e-15);
  t.schedule = "constant";
  EXPECT_DOUBLE_EQ(LearningRate(t, 12345, spe), 0.1);
}

TEST(Schedule, Validation) {
  TrainConfig t;
  t.schedule = "linear";
  EXPECT_EQ(ValidateSchedule(t).code(), StatusCode::kInvalidArgument);
  t.schedule = "cosine";
  EXPECT_TRUE(ValidateSchedule(t).ok());
  t.label_smoothing = 1.0;
  EXPECT_FALSE(ValidateSchedule(t).ok());
}

TEST(LabelSmoothing, MatchesExplicitSmoothedTargets) {
  torch::manual_seed(0);
  const int64_t n = 7, k = 10;
  torch::Tensor logits = torch::randn({n, k}, torch::kFloat64) * 3;
  torch::Tensor y = torch::randint(0, k, {n}, torch::kInt64);
  for (double eps : {0.0, 0.1, 0.3}) {
    // Independent: q = (1 - eps) * onehot + eps / K; loss = mean_i -sum_k q_ik log softmax_ik,
    // with log-softmax written out by hand.
    double total = 0;
    auto a = logits.accessor<double, 2>();
    for (int64_t i = 0; i < n; ++i) {
      double m = -1e300;
      for (int64_t j = 0; j < k; ++j) m = std::max(m, a[i][j]);
      double z = 0;
      for (int64_t j = 0; j < k; ++j) z += std::exp(a[i][j] - m);
      const double lse = m + std::log(z);
      for (int64_t j = 0; j < k; ++j) {
        const double q = (j == y[i].item<int64_t>() ? 1 - eps : 0) + eps / k;
        total -= q * (a[i][j] - lse);
      }
    }
    const double want = total / n;
    const double got = SmoothedCrossEntropy(logits.to(torch::kFloat32), y, eps).item<double>();
    EXPECT_NEAR(got, want, 1e-5) << "eps " << eps;
  }
}

}  // namespace
}  // namespace lcsweep::train
