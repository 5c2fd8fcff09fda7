// FGSM / PGD / clean accuracy against independent computations.
#include "worker/eval/attacks.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include "tests/eval/test_nets.h"
#include "worker/eval/clean.h"

namespace lcsweep::eval {
namespace {

using testing::LinearNet;
using testing::QuadrantData;
using testing::TrainedTinyNet;

class AttacksTest : public ::testing::Test {
 protected:
  void SetUp() override { torch::set_num_threads(1); }  // tiny tensors: 1 thread is fastest
};

TEST_F(AttacksTest, FgsmStepIsSignOfHandDerivedGradient) {
  torch::manual_seed(3);
  LinearNet net(/*in_features=*/12, /*classes=*/5, /*mean=*/0.4, /*std=*/0.3);
  torch::Tensor x = torch::rand({6, 3, 2, 2}, torch::kFloat) * 0.8 + 0.1;  // away from the clip edges
  torch::Tensor y = torch::tensor({0, 1, 2, 3, 4, 0}, torch::kLong);
  // d CE / d x = W^T (softmax(z) - onehot(y)) / std, derived by hand.
  torch::NoGradGuard no_grad;
  torch::Tensor z = net.forward(x);
  torch::Tensor delta = torch::softmax(z, 1) - torch::one_hot(y, 5).to(torch::kFloat);
  torch::Tensor expected_grad = delta.matmul(net.fc_->weight) / 0.3;
  const double eps = 0.05;
  torch::Tensor expected = (x + eps * expected_grad.sign().view_as(x)).clamp(0, 1);
  torch::Tensor adv;
  {
    torch::AutoGradMode enable(true);
    adv = Fgsm(net, x, y, eps);
  }
  EXPECT_TRUE(torch::allclose(adv, expected, 0, 1e-6)) << (adv - expected).abs().max();
  // Every pixel moved by exactly eps (none of them clipped here).
  EXPECT_NEAR((adv - x).abs().min().item<double>(), eps, 1e-6);
}

TEST_F(AttacksTest, FgsmMatchesFiniteDifferenceGradientOnConvNet) {
  auto net = TrainedTinyNet(/*channels=*/1, /*steps=*/50);
  auto [x, y] = QuadrantData(4, 1, 9);
  x = x.to(torch::kDouble);
  net->to(torch::kDouble);
  torch::Tensor g = InputGradient(*net, x, y);
  torch::NoGradGuard no_grad;
  auto loss = [&](const torch::Tensor& xi) {
    return torch::nn::functional::cross_entropy(net->forward(xi), y,
                                                torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
        .item<double>();
  };
  int checked = 0;
  for (int64_t k = 0; k < x.numel(); k += 5) {
    torch::Tensor xp = x.clone(), xm = x.clone();
    xp.view({-1})[k] += 1e-5;
    xm.view({-1})[k] -= 1e-5;
    const double fd = (loss(xp) - loss(xm)) / 2e-5;
    const double an = g.view({-1})[k].item<double>();
    if (std::abs(fd) > 1e-4) {
      EXPECT_EQ(fd > 0, an > 0) << "element " << k;
      ++checked;
    }
    EXPECT_NEAR(fd, an, 1e-5 + 1e-3 * std::abs(fd));
  }
  EXPECT_GT(checked, 10);
}

TEST_F(AttacksTest, PgdStaysInEpsBallAndPixelRange) {
  auto net = TrainedTinyNet(1, 50);
  auto [x, y] = QuadrantData(32, 1, 4);
  x.narrow(0, 0, 8).fill_(0.0);  // images at the range edges exercise the clip
  x.narrow(0, 8, 8).fill_(1.0);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(7);
  const double eps = 0.1;
  torch::Tensor adv = Pgd(*net, x, y, eps, /*steps=*/10, /*step_size=*/eps / 4, gen);
  EXPECT_LE((adv - x).abs().max().item<double>(), eps + 1e-6);
  EXPECT_GE(adv.min().item<double>(), 0.0);
  EXPECT_LE(adv.max().item<double>(), 1.0);
  EXPECT_GT((adv - x).abs().max().item<double>(), eps / 2);  // it did move
}

TEST_F(AttacksTest, PgdIsReproducibleForASeed) {
  auto net = TrainedTinyNet(1, 50);
  auto [x, y] = QuadrantData(16, 1, 4);
  at::Generator g1 = at::make_generator<at::CPUGeneratorImpl>(11), g2 = at::make_generator<at::CPUGeneratorImpl>(11),
                g3 = at::make_generator<at::CPUGeneratorImpl>(12);
  torch::Tensor a = Pgd(*net, x, y, 0.05, 3, 0.01, g1);
  torch::Tensor b = Pgd(*net, x, y, 0.05, 3, 0.01, g2);
  torch::Tensor c = Pgd(*net, x, y, 0.05, 3, 0.01, g3);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, c));
}

TEST_F(AttacksTest, EpsZeroGivesCleanAccuracyAndNothingBeatsClean) {
  auto net = TrainedTinyNet(3, 200);
  auto [x, y] = QuadrantData(256, 3, 5);
  CleanMetrics clean = EvaluateClean(*net, x, y, torch::kCPU, 100);
  EXPECT_GT(clean.accuracy, 0.9) << "the tiny net did not learn the synthetic task";
  EXPECT_EQ(clean.n, 256);
  torch::Tensor correct = CorrectMask(*net, x, y, torch::kCPU, 100);
  EXPECT_NEAR(correct.to(torch::kDouble).mean().item<double>(), clean.accuracy, 1e-12);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(0);
  AttackOptions fgsm{"fgsm", 0.0, 0, 0};
  AttackOptions pgd{"pgd", 0.0, 5, 0.0};
  EXPECT_DOUBLE_EQ(RobustAccuracy(*net, x, y, correct, fgsm, torch::kCPU, 100, gen), clean.accuracy);
  EXPECT_DOUBLE_EQ(RobustAccuracy(*net, x, y, correct, pgd, torch::kCPU, 100, gen), clean.accuracy);

  double prev_fgsm = clean.accuracy, prev_pgd = clean.accuracy;
  for (double eps : {0.02, 0.06, 0.12, 0.2}) {
    AttackOptions f{"fgsm", eps, 0, 0};
    AttackOptions p{"pgd", eps, 5, eps / 3};
    const double af = RobustAccuracy(*net, x, y, correct, f, torch::kCPU, 100, gen);
    const double ap = RobustAccuracy(*net, x, y, correct, p, torch::kCPU, 100, gen);
    EXPECT_LE(af, clean.accuracy);
    EXPECT_LE(ap, clean.accuracy);
    EXPECT_LE(af, prev_fgsm + 1e-12) << "FGSM accuracy rose at eps " << eps;
    EXPECT_LE(ap, prev_pgd + 1e-12) << "PGD accuracy rose at eps " << eps;
    EXPECT_LE(ap, af + 0.02) << "PGD should be at least as strong as FGSM, eps " << eps;
    prev_fgsm = af;
    prev_pgd = ap;
  }
  EXPECT_LT(prev_fgsm, clean.accuracy - 0.2) << "eps 0.2 should break the model";
}

TEST_F(AttacksTest, CleanMetricsMatchDirectComputation) {
  torch::manual_seed(5);
  LinearNet net(4, 7, 0.5, 0.5);
  torch::Tensor x = torch::rand({50, 1, 2, 2});
  torch::Tensor y = torch::randint(0, 7, {50}, torch::kLong);
  CleanMetrics m = EvaluateClean(net, x, y, torch::kCPU, /*batch_size=*/16);  // partial last batch
  torch::NoGradGuard no_grad;
  torch::Tensor z = net.forward(x);
  EXPECT_NEAR(m.loss, torch::nn::functional::cross_entropy(z, y).item<double>(), 1e-6);
  EXPECT_NEAR(m.accuracy, z.argmax(1).eq(y).to(torch::kDouble).mean().item<double>(), 1e-12);
  // top-5: the label's rank among 7 logits is < 5.
  torch::Tensor rank = z.gt(z.gather(1, y.unsqueeze(1))).sum(1);
  EXPECT_NEAR(m.top5, rank.lt(5).to(torch::kDouble).mean().item<double>(), 1e-12);
  EXPECT_GE(m.top5, m.accuracy);
}

TEST_F(AttacksTest, AttacksLeaveParameterGradientsUntouched) {
  auto net = TrainedTinyNet(1, 10);
  auto [x, y] = QuadrantData(8, 1, 4);
  for (auto& p : net->parameters()) p.mutable_grad() = torch::Tensor();
  Fgsm(*net, x, y, 0.1);
  for (auto& p : net->parameters()) EXPECT_FALSE(p.grad().defined());
}

}  // namespace
}  // namespace lcsweep::eval
