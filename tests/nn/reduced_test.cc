// The reduced execution against plain training of P (folded and unfolded):
// several SGD steps with momentum, Nesterov, weight decay and a cosine
// schedule must give the same P, W, outputs and losses, to float32 rounding
// in float32 and to 1e-10 in float64, for blocks and whole networks, where
// m = c_out*E > n = c_in*k^2 (Q and c are trained) and where m <= n (reduced
// is folded, bitwise).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tests/nn/test_util.h"
#include "worker/nn/lc_conv.h"
#include "worker/nn/resnet.h"

namespace lcsweep::nn {
namespace {

using testing::MustBuild;
using testing::RelativeError;

constexpr int kSteps = 8;
constexpr double kLr = 0.2, kMomentum = 0.9, kWeightDecay = 0.05;

// PyTorch's cosine annealing, stepped every iteration (an independent copy of
// the trainer's schedule: these tests do not use the trainer).
double CosineLr(int step) { return kLr * 0.5 * (1 + std::cos(M_PI * step / kSteps)); }

torch::optim::SGD MakeSgd(std::vector<torch::Tensor> params, bool nesterov) {
  return torch::optim::SGD(std::move(params), torch::optim::SGDOptions(kLr)
                                                  .momentum(kMomentum)
                                                  .nesterov(nesterov)
                                                  .weight_decay(kWeightDecay));
}

void SetLr(torch::optim::SGD& sgd, double lr) {
  static_cast<torch::optim::SGDOptions&>(sgd.param_groups()[0].options()).lr(lr);
}

LcConv2dOptions BlockOptions(int64_t cin, int64_t cout, int64_t e, const std::string& execution,
                             torch::Dtype dtype) {
  LcConv2dOptions o;
  o.in_channels = cin;
  o.out_channels = cout;
  o.kernel_size = 3;
  o.stride = 1;
  o.conv.mode = "lc";
  o.conv.lc_rate = e;
  o.conv.execution = execution;
  o.seed = 5;
  o.layer_index = 2;
  o.input_size = 6;
  o.dtype = dtype;
  return o;
}

struct BlockRun {
  std::vector<double> losses;
  torch::Tensor p, w, y;  // after training; y on a held-out input
  double decay = 1;       // c (reduced only)
};

// Trains one block to fit a fixed random target (squared error).
BlockRun TrainBlock(LcConv2d conv, torch::Dtype dtype, bool nesterov) {
  conv->to(dtype);  // a no-op for the reduced block, which was built in dtype
  torch::manual_seed(3);
  const int64_t cin = conv->options().in_channels, cout = conv->options().out_channels;
  torch::Tensor x = torch::randn({4, cin, 6, 6}).to(dtype);
  torch::Tensor target = torch::randn({4, cout, 6, 6}).to(dtype);
  torch::Tensor held_out = torch::randn({2, cin, 6, 6}).to(dtype);
  torch::optim::SGD sgd = MakeSgd(conv->parameters(), nesterov);
  BlockRun run;
  for (int step = 0; step < kSteps; ++step) {
    SetLr(sgd, CosineLr(step));
    sgd.zero_grad();
    torch::Tensor loss = (conv->forward(x) - target).pow(2).mean();
    run.losses.push_back(loss.item<double>());
    loss.backward();
    sgd.step();
  }
  torch::NoGradGuard no_grad;
  run.p = conv->CombinationWeight().detach().clone();
  run.w = conv->FoldedWeight().detach().clone();
  run.y = conv->forward(held_out);
  if (conv->reduced()) run.decay = conv->named_parameters()["reduced.decay"].item<double>();
  return run;
}

void ExpectClose(const BlockRun& a, const BlockRun& b, double tol, const std::string& what) {
  EXPECT_LT(RelativeError(a.p, b.p), tol) << what << ": P";
  EXPECT_LT(RelativeError(a.w, b.w), tol) << what << ": W";
  EXPECT_LT(RelativeError(a.y, b.y), tol) << what << ": outputs";
  ASSERT_EQ(a.losses.size(), b.losses.size());
  for (size_t i = 0; i < a.losses.size(); ++i) {
    EXPECT_NEAR(a.losses[i], b.losses[i], tol * std::abs(b.losses[i])) << what << ": loss " << i;
  }
}

// (c_in, c_out, E, nesterov)
using BlockCase = std::tuple<int64_t, int64_t, int64_t, bool>;
class ReducedBlockTest : public ::testing::TestWithParam<BlockCase> {};

TEST_P(ReducedBlockTest, TrainsLikePlainP) {
  const auto [cin, cout, e, nesterov] = GetParam();
  const bool m_exceeds_n = cout * e > cin * 9;
  for (torch::Dtype dtype : {torch::kFloat32, torch::kFloat64}) {
    const double tol = dtype == torch::kFloat64 ? 1e-10 : 2e-5;
    const std::string tag = dtype == torch::kFloat64 ? "float64" : "float32";
    LcConv2d reduced_conv(BlockOptions(cin, cout, e, "reduced", dtype));
    ASSERT_EQ(reduced_conv->reduced(), m_exceeds_n);
    const BlockRun reduced = TrainBlock(reduced_conv, dtype, nesterov);
    const BlockRun folded = TrainBlock(LcConv2d(BlockOptions(cin, cout, e, "folded", dtype)), dtype, nesterov);
    const BlockRun unfolded =
        TrainBlock(LcConv2d(BlockOptions(cin, cout, e, "unfolded", dtype)), dtype, nesterov);
    // The runs did move P, and (m > n) decayed its orthogonal part: the
    // comparison below would catch a wrong c.
    EXPECT_GT(folded.losses.front(), 1.05 * folded.losses.back()) << tag;
    if (m_exceeds_n) {
      EXPECT_LT(reduced.decay, 0.97) << tag;
      EXPECT_GT(RelativeError(folded.p, LcConv2d(BlockOptions(cin, cout, e, "folded", dtype))
                                            ->CombinationWeight().to(dtype)),
                1e-3)
          << tag;
    }
    ExpectClose(reduced, folded, tol, tag + " reduced vs folded");
    ExpectClose(reduced, unfolded, tol, tag + " reduced vs unfolded");
    if (!m_exceeds_n) {  // nothing to reduce: the folded block itself
      EXPECT_TRUE(torch::equal(reduced.p, folded.p)) << tag;
      EXPECT_TRUE(torch::equal(reduced.y, folded.y)) << tag;
      EXPECT_EQ(reduced.losses, folded.losses) << tag;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, ReducedBlockTest,
                         ::testing::Values(BlockCase{3, 4, 8, true},     // m = 32 > n = 27
                                           BlockCase{4, 4, 16, false},   // m = 64 > n = 36, heavy ball
                                           BlockCase{4, 8, 64, true},    // m = 512 >> n = 36
                                           BlockCase{4, 4, 8, true},     // m = 32 <= n = 36
                                           BlockCase{8, 4, 2, true}));   // m = 8 << n = 72

TEST(ReducedBlockTest, InitialPIsRegeneratedAndSharedSlicesFactorOnAttach) {
  // Before any step the reconstruction is P(0) itself.
  LcConv2dOptions o = BlockOptions(4, 8, 64, "reduced", torch::kFloat64);
  LcConv2d reduced(o);
  o.conv.execution = "folded";
  LcConv2d folded(o);
  EXPECT_LT(RelativeError(reduced->CombinationWeight(), folded->CombinationWeight()), 1e-13);
  EXPECT_LT(RelativeError(reduced->FoldedWeight(), folded->FoldedWeight()), 1e-13);
  // A sharing group: S arrives with AttachShared and is factored then.
  o.conv.execution = "reduced";
  o.conv.sharing = "global";
  o.share_group = 0;
  LcConv2d shared(o);
  torch::Tensor t = torch::rand({600, 4, 3, 3}) * 2 - 1;
  shared->AttachShared(t);
  torch::Tensor s = shared->SpatialWeight().reshape({512, 36}).to(torch::kDouble);
  torch::Tensor w_ref = torch::mm(shared->CombinationWeight().reshape({8, 512}), s);
  EXPECT_LT(RelativeError(shared->FoldedWeight().reshape({8, 36}), w_ref), 1e-6);
}

TEST(ReducedBlockTest, RankDeficientSharedFiltersUseTheHouseholderFallback) {
  // Input channel 1 repeats channel 0 in T, so S has 9 repeated columns: rank
  // 27 < n = 36. Cholesky QR cannot factor it; the explicit-U fallback must
  // still train exactly like P.
  torch::manual_seed(1);
  torch::Tensor t = torch::rand({600, 4, 3, 3}, torch::kDouble) * 2 - 1;
  t.select(1, 1).copy_(t.select(1, 0));
  auto build = [&](const std::string& execution) {
    LcConv2dOptions o = BlockOptions(4, 8, 64, execution, torch::kFloat64);
    o.conv.sharing = "global";
    o.share_group = 0;
    LcConv2d conv(o);
    conv->AttachShared(t);
    return conv;
  };
  LcConv2d reduced_conv = build("reduced");
  ASSERT_TRUE(reduced_conv->reduced());
  const BlockRun reduced = TrainBlock(reduced_conv, torch::kFloat64, /*nesterov=*/true);
  const BlockRun folded = TrainBlock(build("folded"), torch::kFloat64, /*nesterov=*/true);
  EXPECT_LT(reduced.decay, 0.97);
  ExpectClose(reduced, folded, 1e-10, "rank-deficient S");
}

// Whole networks: resnet_cifar (depth 8, width 4, 8x8 images, BN, shortcuts).
struct NetRun {
  std::vector<double> losses;
  std::vector<SpatialLayerView> layers;
  torch::Tensor logits;
};

NetRun TrainNet(const ModelSpec& spec) {
  Network net = MustBuild(spec);
  net->train();
  torch::manual_seed(9);
  torch::Tensor x = torch::rand({6, 3, 8, 8}).to(spec.dtype);
  torch::Tensor y = torch::randint(0, 5, {6}, torch::kLong);
  torch::Tensor held_out = torch::rand({3, 3, 8, 8}).to(spec.dtype);
  torch::optim::SGD sgd = MakeSgd(net->parameters(), /*nesterov=*/true);
  NetRun run;
  for (int step = 0; step < kSteps; ++step) {
    SetLr(sgd, 0.25 * CosineLr(step));
    sgd.zero_grad();
    torch::Tensor loss = torch::cross_entropy_loss(net->forward(x), y);
    run.losses.push_back(loss.item<double>());
    loss.backward();
    sgd.step();
  }
  net->eval();
  torch::NoGradGuard no_grad;
  run.logits = net->forward(held_out);
  run.layers = net->SpatialLayers();
  return run;
}

class ReducedNetworkTest : public ::testing::TestWithParam<int64_t> {};

TEST_P(ReducedNetworkTest, TrainsLikePlainP) {
  const int64_t e = GetParam();
  for (torch::Dtype dtype : {torch::kFloat32, torch::kFloat64}) {
    const double tol = dtype == torch::kFloat64 ? 1e-10 : 1e-4;
    const std::string tag = std::string(dtype == torch::kFloat64 ? "float64" : "float32") + " E=" +
                            std::to_string(e);
    ModelSpec spec = testing::SmallSpec("lc", e);
    spec.dtype = dtype;
    spec.model.conv.execution = "reduced";
    Network probe = MustBuild(spec);
    int64_t reduced_layers = 0;
    for (auto& [name, layer] : dynamic_cast<ResNetImpl&>(*probe).LcLayers()) reduced_layers += layer->reduced();
    const NetRun reduced = TrainNet(spec);
    spec.model.conv.execution = "folded";
    const NetRun folded = TrainNet(spec);
    spec.model.conv.execution = "unfolded";
    const NetRun unfolded = TrainNet(spec);
    ASSERT_EQ(reduced.layers.size(), folded.layers.size());
    for (const NetRun* other : {&folded, &unfolded}) {
      for (size_t i = 0; i < reduced.layers.size(); ++i) {
        EXPECT_LT(RelativeError(reduced.layers[i].combination, other->layers[i].combination), tol)
            << tag << " P of " << reduced.layers[i].name;
        EXPECT_LT(RelativeError(reduced.layers[i].folded, other->layers[i].folded), tol)
            << tag << " W of " << reduced.layers[i].name;
      }
      EXPECT_LT(RelativeError(reduced.logits, other->logits), tol) << tag;
      for (size_t i = 0; i < reduced.losses.size(); ++i) {
        EXPECT_NEAR(reduced.losses[i], other->losses[i], tol * other->losses[i]) << tag << " loss " << i;
      }
    }
    if (reduced_layers == 0) {  // every layer has m <= n: the folded network, bitwise
      EXPECT_EQ(reduced.losses, folded.losses) << tag;
      EXPECT_TRUE(torch::equal(reduced.logits, folded.logits)) << tag;
    }
    EXPECT_EQ(reduced_layers, e == 2 ? 0 : e == 8 ? 3 : 7) << tag;
  }
}

// E = 2: m <= n everywhere; E = 8: mixed (stem and the stage-2 entry reduce);
// E = 16: every layer reduces.
INSTANTIATE_TEST_SUITE_P(Rates, ReducedNetworkTest, ::testing::Values(2, 8, 16));

}  // namespace
}  // namespace lcsweep::nn
