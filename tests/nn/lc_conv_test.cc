#include <gtest/gtest.h>

#include <tuple>

#include "tests/nn/test_util.h"
#include "worker/nn/lc_conv.h"

namespace lcsweep::nn {
namespace {

using testing::RelativeError;

LcConv2dOptions Options(int64_t cin, int64_t cout, int64_t k, int64_t stride, int64_t e,
                        const std::string& spatial, const std::string& execution) {
  LcConv2dOptions o;
  o.in_channels = cin;
  o.out_channels = cout;
  o.kernel_size = k;
  o.stride = stride;
  o.conv.mode = "lc";
  o.conv.lc_rate = e;
  o.conv.spatial = spatial;
  o.conv.execution = execution;
  o.seed = 11;
  o.layer_index = 3;
  o.input_size = 9;
  return o;
}

struct Grads {
  torch::Tensor y, gp, gs, gx;
};

// Runs forward + backward of a random linear functional of the output.
Grads RunBlock(LcConv2d& conv, const torch::Tensor& x_in, const torch::Tensor& probe) {
  torch::Tensor x = x_in.clone().requires_grad_(true);
  torch::Tensor y = conv->forward(x);
  (y * probe).sum().backward();
  Grads g;
  g.y = y.detach();
  g.gp = conv->CombinationWeight().grad().clone();
  if (conv->SpatialWeight().requires_grad()) g.gs = conv->SpatialWeight().grad().clone();
  g.gx = x.grad().clone();
  return g;
}

// (c_in, c_out, k, stride, E, spatial)
using BlockCase = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, std::string>;
class FoldedVsUnfoldedTest : public ::testing::TestWithParam<BlockCase> {};

TEST_P(FoldedVsUnfoldedTest, SameOutputsAndGradients) {
  const auto [cin, cout, k, stride, e, spatial] = GetParam();
  for (auto dtype : {torch::kFloat32, torch::kFloat64}) {
    LcConv2d folded(Options(cin, cout, k, stride, e, spatial, "folded"));
    LcConv2d unfolded(Options(cin, cout, k, stride, e, spatial, "unfolded"));
    ASSERT_TRUE(folded->folded());
    ASSERT_FALSE(unfolded->folded());
    folded->to(dtype);
    unfolded->to(dtype);
    ASSERT_TRUE(torch::equal(folded->SpatialWeight(), unfolded->SpatialWeight()));
    torch::manual_seed(1);
    torch::Tensor x = torch::randn({3, cin, 9, 9}, dtype);
    const int64_t out = (9 + 2 * (k / 2) - k) / stride + 1;
    torch::Tensor probe = torch::randn({3, cout, out, out}, dtype);
    Grads f = RunBlock(folded, x, probe), u = RunBlock(unfolded, x, probe);
    const double tol = dtype == torch::kFloat32 ? 1e-5 : 1e-12;
    EXPECT_LT(RelativeError(f.y, u.y), tol);
    EXPECT_LT(RelativeError(f.gp, u.gp), tol);
    EXPECT_LT(RelativeError(f.gx, u.gx), tol);
    if (spatial == "learned") {
      ASSERT_TRUE(f.gs.defined());
      EXPECT_LT(RelativeError(f.gs, u.gs), tol);
    } else {
      EXPECT_FALSE(f.gs.defined());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, FoldedVsUnfoldedTest,
    ::testing::Values(BlockCase{3, 4, 3, 1, 1, "frozen"}, BlockCase{3, 4, 3, 2, 8, "learned"},
                      BlockCase{8, 4, 1, 1, 3, "learned"}, BlockCase{4, 6, 5, 2, 2, "frozen"},
                      BlockCase{5, 5, 7, 1, 4, "learned"}, BlockCase{6, 3, 3, 1, 16, "frozen"},
                      BlockCase{2, 8, 9, 2, 2, "learned"}));

TEST(LcConv2dTest, NamesParametersAndBuffers) {
  LcConv2d frozen(Options(3, 4, 3, 1, 2, "frozen", "auto"));
  auto params = frozen->named_parameters();
  EXPECT_EQ(params.size(), 1u);
  EXPECT_TRUE(params.contains("lc.weight"));
  EXPECT_TRUE(frozen->named_buffers().contains("spatial.weight"));
  EXPECT_EQ(frozen->SpatialWeight().sizes(), (std::vector<int64_t>{8, 3, 3, 3}));
  EXPECT_EQ(frozen->CombinationWeight().sizes(), (std::vector<int64_t>{4, 8, 1, 1}));

  LcConv2d learned(Options(3, 4, 3, 1, 2, "learned", "auto"));
  EXPECT_TRUE(learned->named_parameters().contains("spatial.weight"));
  EXPECT_TRUE(torch::equal(learned->SpatialWeight(), frozen->SpatialWeight()));

  LcConv2dOptions plain = Options(3, 4, 3, 1, 2, "frozen", "auto");
  plain.conv.mode = "learned";
  LcConv2d conv(plain);
  EXPECT_TRUE(conv->named_parameters().contains("weight"));
  EXPECT_EQ(conv->SpatialWeight().sizes(), (std::vector<int64_t>{4, 3, 3, 3}));
  EXPECT_FALSE(conv->CombinationWeight().defined());
  plain.conv.mode = "frozen";
  LcConv2d frozen_plain(plain);
  EXPECT_EQ(frozen_plain->named_parameters().size(), 0u);
  EXPECT_TRUE(frozen_plain->named_buffers().contains("weight"));
}

TEST(LcConv2dTest, FoldedWeightIsEinsum) {
  LcConv2d conv(Options(3, 4, 3, 1, 5, "frozen", "folded"));
  torch::Tensor w = conv->FoldedWeight();
  torch::Tensor ref = torch::einsum("om,mikl->oikl", {conv->CombinationWeight().squeeze(-1).squeeze(-1).to(torch::kDouble),
                                                      conv->SpatialWeight().to(torch::kDouble)});
  EXPECT_LT(RelativeError(w, ref), 1e-6);
}

TEST(LcConv2dTest, AutoPicksFoldedForTrainingBatches) {
  LcConv2dOptions o = Options(16, 16, 3, 1, 64, "learned", "auto");
  o.input_size = 32;
  o.batch_size = 256;
  LcConv2d conv(o);
  EXPECT_TRUE(conv->folded());
  const LcConvAccount a = conv->Account();
  EXPECT_EQ(a.train_macs_unfolded, 64 * 16 * (16 * 9 + 16) * 32 * 32);
  EXPECT_EQ(a.train_macs_folded, 16 * 16 * 9 * 32 * 32 + (16 * 16 * 64 * 16 * 9) / 256);
  EXPECT_EQ(a.inference_macs, 16 * 16 * 9 * 32 * 32);
  // One image on a 1x1 map with a huge E: the per-step fold costs more than unfolded.
  o.input_size = 1;
  o.batch_size = 1;
  o.conv.lc_rate = 256;
  LcConv2d tiny(o);
  EXPECT_FALSE(tiny->folded());
  EXPECT_GT(tiny->Account().train_macs_folded, tiny->Account().train_macs_unfolded);
}

TEST(LcConv2dTest, AutoPicksReducedForFrozenFiltersWhenMExceedsN) {
  LcConv2dOptions o = Options(16, 16, 3, 1, 64, "frozen", "auto");
  o.input_size = 32;
  o.batch_size = 256;
  LcConv2d conv(o);
  EXPECT_TRUE(conv->reduced());
  const LcConvAccount a = conv->Account();
  EXPECT_EQ(a.execution, "reduced");
  EXPECT_EQ(a.fold_macs_folded, 16 * 1024 * 144);
  EXPECT_EQ(a.fold_macs_reduced, 16 * 144 * 144);
  EXPECT_EQ(a.train_macs_reduced, 16 * 16 * 9 * 32 * 32 + (16 * 144 * 144) / 256);
  EXPECT_EQ(a.train_macs, a.train_macs_reduced);
  EXPECT_EQ(a.params_learned, 16 * 1024);         // P as a function
  EXPECT_EQ(a.params_trained, 16 * 144 + 1);      // Q and c
  EXPECT_TRUE(conv->named_parameters().contains("reduced.weight"));
  EXPECT_TRUE(conv->named_parameters().contains("reduced.decay"));
  EXPECT_FALSE(conv->named_parameters().contains("lc.weight"));
  EXPECT_TRUE(conv->named_buffers().contains("reduced.r"));
  // m <= n (E = 8: 128 <= 144): nothing to reduce, auto and reduced are folded.
  o.conv.lc_rate = 8;
  LcConv2d small(o);
  EXPECT_TRUE(small->folded());
  o.conv.execution = "reduced";
  LcConv2d small_reduced(o);
  EXPECT_TRUE(small_reduced->folded());
  EXPECT_TRUE(small_reduced->named_parameters().contains("lc.weight"));
  // Another optimizer: auto does not pick reduced, and asking for it is an error.
  o.conv.lc_rate = 64;
  o.conv.execution = "auto";
  o.optimizer = "adam";
  EXPECT_TRUE(LcConv2d(o)->folded());
  o.conv.execution = "reduced";
  EXPECT_NE(ValidateLcConv2dOptions(o).message().find("train.optimizer"), std::string::npos);
  o.optimizer = "sgd";
  o.conv.spatial = "learned";
  EXPECT_NE(ValidateLcConv2dOptions(o).message().find("frozen"), std::string::npos);
  o.conv.spatial = "frozen";
  o.conv.intermediate = "relu";
  EXPECT_NE(ValidateLcConv2dOptions(o).message().find("intermediate"), std::string::npos);
}

TEST(LcConv2dTest, IntermediateOpsRunUnfoldedAndRefuseFolded) {
  for (const char* op : {"relu", "bn", "bn_relu"}) {
    LcConv2dOptions o = Options(3, 4, 3, 1, 2, "frozen", "folded");
    o.conv.intermediate = op;
    Status s = ValidateLcConv2dOptions(o);
    ASSERT_FALSE(s.ok()) << op;
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("folded"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(op), std::string::npos) << s.message();
    EXPECT_THROW(LcConv2d{o}, std::invalid_argument);
    o.conv.execution = "auto";
    LcConv2d conv(o);
    EXPECT_FALSE(conv->folded()) << op;
    EXPECT_EQ(conv->named_parameters().contains("mid_bn.weight"), std::string(op) != "relu");
    EXPECT_THROW(conv->FoldedWeight(), c10::Error);
    // The op really sits in between: the output differs from the linear block.
    o.conv.intermediate = "none";
    o.conv.execution = "unfolded";
    LcConv2d linear(o);
    torch::manual_seed(0);
    torch::Tensor x = torch::randn({2, 3, 9, 9});
    EXPECT_GT(RelativeError(conv->forward(x), linear->forward(x)), 1e-3) << op;
  }
}

TEST(LcConv2dTest, RejectsBadOptionsWithClearErrors) {
  LcConv2dOptions o = Options(3, 4, 3, 1, 2, "frozen", "auto");
  o.kernel_size = 4;
  EXPECT_NE(ValidateLcConv2dOptions(o).message().find("odd"), std::string::npos);
  o = Options(3, 4, 3, 1, 0, "frozen", "auto");
  EXPECT_NE(ValidateLcConv2dOptions(o).message().find("lc_rate"), std::string::npos);
  o = Options(3, 4, 3, 1, 2, "learned", "auto");
  o.conv.sharing = "global";
  EXPECT_NE(ValidateLcConv2dOptions(o).message().find("frozen"), std::string::npos);
  o = Options(3, 4, 3, 1, 2, "frozen", "auto");
  o.conv.mode = "depthwise";
  EXPECT_NE(ValidateLcConv2dOptions(o).message().find("allowed: lc, learned, frozen"), std::string::npos);
}

}  // namespace
}  // namespace lcsweep::nn
