#include <gtest/gtest.h>

#include <cmath>

#include "worker/nn/counter_rng.h"
#include "worker/nn/init.h"

namespace lcsweep::nn {
namespace {

TEST(CounterRngTest, MatchesIndependentSplitMix64) {
  // Values from an independent Python implementation of the key schedule and
  // SplitMix64 (see counter_rng.cc): pins the generator so frozen filters of
  // stored jobs can never silently change.
  EXPECT_EQ(CounterRng(0, 0, RngStream::kSpatial).Bits(0), 0x060599146f06297dULL);
  EXPECT_EQ(CounterRng(42, 7, RngStream::kCombination).Bits(2), 0x6b202452cf85f4d8ULL);
}

TEST(CounterRngTest, UniformAndNormalMoments) {
  CounterRng rng(1, 2, RngStream::kSpatial);
  const int64_t n = 200000;
  auto u = rng.UniformVector(n);
  auto z = rng.NormalVector(n);
  double su = 0, sz = 0, szz = 0;
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_GE(u[i], 0.0);
    ASSERT_LT(u[i], 1.0);
    su += u[i];
    sz += z[i];
    szz += z[i] * z[i];
  }
  EXPECT_NEAR(su / n, 0.5, 0.005);
  EXPECT_NEAR(sz / n, 0.0, 0.01);
  EXPECT_NEAR(szz / n, 1.0, 0.01);
}

class InitTest : public ::testing::TestWithParam<InitKind> {};

// Stats of a [64, 32, 3, 3] layer (fan-in 288, 18432 values).
TEST_P(InitTest, PerLayerScale) {
  const InitKind kind = GetParam();
  const int64_t fan_in = 32 * 9;
  torch::Tensor w = InitTensor(kind, {64, 32, 3, 3}, fan_in, CounterRng(3, 1, RngStream::kSpatial));
  ASSERT_EQ(w.dtype(), torch::kFloat32);
  const double a = 1.0 / std::sqrt(288.0);
  const double sigma = a / std::sqrt(3.0);
  const double std = w.to(torch::kDouble).pow(2).mean().sqrt().item<double>();  // RMS about 0
  const double max_abs = w.abs().max().item<double>();
  EXPECT_NEAR(w.mean().item<double>(), 0.0, 0.05 * sigma);
  switch (kind) {
    case InitKind::kKaimingUniform:
    case InitKind::kUniform:
      EXPECT_LE(max_abs, a);
      EXPECT_GT(max_abs, 0.99 * a);
      EXPECT_NEAR(std, sigma, 0.02 * sigma);
      break;
    case InitKind::kKaimingNormal:
      EXPECT_NEAR(std, std::sqrt(2.0 / fan_in), 0.02 * std::sqrt(2.0 / fan_in));
      break;
    case InitKind::kNormal:
    case InitKind::kGaussianEnvelope:
      EXPECT_NEAR(std, sigma, 0.02 * sigma);
      break;
    case InitKind::kSign:
      EXPECT_TRUE(torch::allclose(w.abs(), torch::full_like(w, sigma), 0, 1e-7 * sigma));
      break;
    case InitKind::kOrthogonal: {
      EXPECT_NEAR(std, sigma, 1e-4 * sigma);
      // 64 rows <= 288 fan-in: rows orthogonal, each of squared norm 288 sigma^2.
      torch::Tensor m = w.view({64, -1}).to(torch::kDouble);
      torch::Tensor gram = m.mm(m.t()) / (288 * sigma * sigma);
      EXPECT_LT((gram - torch::eye(64, torch::kDouble)).abs().max().item<double>(), 1e-5);
      break;
    }
  }
}

TEST_P(InitTest, SameKeySameBitsOtherKeysDiffer) {
  const InitKind kind = GetParam();
  auto draw = [&](uint64_t seed, uint64_t layer) {
    return InitTensor(kind, {16, 8, 3, 3}, 72, CounterRng(seed, layer, RngStream::kSpatial));
  };
  torch::Tensor a = draw(5, 3);
  EXPECT_TRUE(torch::equal(a, draw(5, 3)));
  EXPECT_FALSE(torch::equal(a, draw(5, 4)));
  EXPECT_FALSE(torch::equal(a, draw(6, 3)));
  EXPECT_FALSE(torch::equal(a, InitTensor(kind, {16, 8, 3, 3}, 72, CounterRng(5, 3, RngStream::kCombination))));
}

INSTANTIATE_TEST_SUITE_P(AllInits, InitTest,
                         ::testing::Values(InitKind::kKaimingUniform, InitKind::kKaimingNormal,
                                           InitKind::kUniform, InitKind::kNormal, InitKind::kOrthogonal,
                                           InitKind::kSign, InitKind::kGaussianEnvelope),
                         [](const auto& info) { return std::string(InitKindName(info.param)); });

TEST(InitTest, OrthogonalTallBlocksAreOrthogonal) {
  // 40 rows of fan-in 18: groups of 18 orthogonal rows (18, 18, 4).
  torch::Tensor w = InitTensor(InitKind::kOrthogonal, {40, 2, 3, 3}, 18, CounterRng(1, 1, RngStream::kSpatial));
  torch::Tensor m = w.view({40, 18}).to(torch::kDouble);
  for (int64_t start : {0, 18, 36}) {
    const int64_t rows = std::min<int64_t>(18, 40 - start);
    torch::Tensor b = m.slice(0, start, start + rows);
    torch::Tensor gram = b.mm(b.t());
    torch::Tensor off = gram - torch::diag(torch::diag(gram));
    EXPECT_LT(off.abs().max().item<double>(), 1e-6 * gram.diag().mean().item<double>());
  }
}

TEST(InitTest, GaussianEnvelopeIsCentreWeighted) {
  torch::Tensor w = InitTensor(InitKind::kGaussianEnvelope, {256, 16, 5, 5}, 400,
                               CounterRng(2, 0, RngStream::kSpatial));
  torch::Tensor var = w.to(torch::kDouble).pow(2).mean(std::vector<int64_t>{0, 1});  // [5, 5]
  EXPECT_GT(var[2][2].item<double>(), 4 * var[0][0].item<double>());
  EXPECT_GT(var[2][2].item<double>(), var[1][2].item<double>());
}

TEST(InitTest, ParseRejectsUnknownNames) {
  auto s = ParseInitKind("xavier");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("kaiming_uniform"), std::string::npos);
  for (const char* name : {"kaiming_uniform", "kaiming_normal", "uniform", "normal", "orthogonal", "sign",
                           "gaussian_envelope"}) {
    auto k = ParseInitKind(name);
    ASSERT_TRUE(k.ok()) << name;
    EXPECT_STREQ(InitKindName(*k), name);
  }
}

}  // namespace
}  // namespace lcsweep::nn
