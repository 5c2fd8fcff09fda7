// RunEvaluation on a real registry model (ResNet-LC-20, frozen spatial
// filters): filter statistics per spatial layer against independent
// computations, attacks and mode handling on a network with BatchNorm.
#include <gtest/gtest.h>

#include "worker/eval/evaluate.h"
#include "worker/eval/filter_stats.h"
#include "worker/nn/network.h"

namespace lcsweep::eval {
namespace {

nn::Network BuildLcResNet(int64_t lc_rate) {
  nn::ModelSpec spec;
  spec.model.arch = "resnet_cifar";
  spec.model.depth = 20;
  spec.model.width = 8;
  spec.model.conv.mode = "lc";
  spec.model.conv.lc_rate = lc_rate;
  spec.model.conv.spatial = "frozen";
  spec.in_channels = 3;
  spec.num_classes = 10;
  spec.mean = {0.4914, 0.4822, 0.4465};
  spec.std = {0.2470, 0.2435, 0.2616};
  spec.seed = 5;
  auto net = nn::BuildNetwork(spec);
  EXPECT_TRUE(net.ok()) << net.status().ToString();
  return net.ok() ? *net : nullptr;
}

TEST(ResNetEvalTest, FilterStatsAndAttacksOnResNetLc20) {
  torch::set_num_threads(2);
  nn::Network net = BuildLcResNet(4);
  ASSERT_NE(net, nullptr);
  torch::manual_seed(0);
  torch::Tensor x = torch::rand({24, 3, 32, 32});
  torch::Tensor y = torch::randint(0, 10, {24}, torch::kLong);
  EvalConfig cfg;
  cfg.fgsm_eps = {0.0, 8.0 / 255};
  cfg.pgd_eps = {8.0 / 255};
  cfg.pgd_steps = 2;
  cfg.corruptions = {"gaussian_noise"};
  cfg.severities = {5};
  net->train();
  auto r = RunEvaluation(*net, cfg, EvalInputs{x, y, torch::kCPU, 16, 1});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(net->is_training());
  const nlohmann::json& j = *r;
  // Untrained net: eps 0 reproduces the clean accuracy, attacks never beat it.
  EXPECT_DOUBLE_EQ(j["fgsm"][0]["accuracy"].get<double>(), j["clean"]["accuracy"].get<double>());
  EXPECT_LE(j["fgsm"][1]["accuracy"].get<double>(), j["clean"]["accuracy"].get<double>());
  EXPECT_LE(j["pgd"][0]["accuracy"].get<double>(), j["clean"]["accuracy"].get<double>());

  std::vector<nn::SpatialLayerView> layers = net->SpatialLayers();
  ASSERT_EQ(layers.size(), 19u);  // stem + 18 block convs
  ASSERT_EQ(j["filter_stats"].size(), layers.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    const nlohmann::json& s = j["filter_stats"][i];
    const nn::SpatialLayerView& l = layers[i];
    SCOPED_TRACE(l.name);
    EXPECT_EQ(s["name"], l.name);
    ASSERT_TRUE(l.combination.defined());
    ASSERT_FALSE(s["P"].is_null());
    EXPECT_TRUE(s["P"]["fve"].is_null());
    // The folded filters are P composed with S: recompute and compare stats.
    torch::Tensor folded = torch::einsum("om,mikl->oikl", {l.combination.flatten(1), l.spatial});
    EXPECT_TRUE(torch::allclose(folded, l.folded, 1e-4, 1e-6));
    EXPECT_NEAR(s["folded"]["orthogonality"].get<double>(), Orthogonality(folded), 1e-6);
    EXPECT_NEAR(s["folded"]["fve"].get<double>(), Fve(folded), 1e-6);
    // Frozen Kaiming-uniform S: i.i.d. kernels, normalised FVE close to 1.
    const double nfve = s["S"]["fve_normalised"].get<double>();
    EXPECT_GT(nfve, 0.9);
    EXPECT_LT(nfve, 1.1);
    EXPECT_LT(s["S"]["sparsity"].get<double>(), 0.01);
  }
}

}  // namespace
}  // namespace lcsweep::eval
