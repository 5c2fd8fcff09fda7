// Small NetworkImpl implementations for the evaluation tests, independent of
// worker/nn's models: a linear classifier (whose input gradient has a closed
// form) and a tiny conv net that can be trained in a second.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "worker/nn/network.h"

namespace lcsweep::eval::testing {

// logits = W ((x - mean) / std).flatten + b. Normalisation inside, like the real models.
class LinearNet : public nn::NetworkImpl {
 public:
  LinearNet(int64_t in_features, int64_t classes, double mean, double std) : mean_(mean), std_(std) {
    fc_ = register_module("fc", torch::nn::Linear(in_features, classes));
  }
  torch::Tensor forward(torch::Tensor pixels) override {
    return fc_->forward(((pixels - mean_) / std_).flatten(1));
  }
  std::vector<nn::SpatialLayerView> SpatialLayers() override { return {}; }
  std::vector<std::pair<std::string, torch::Tensor>> CheckpointState() override { return {}; }
  torch::nn::Linear fc_{nullptr};
  double mean_, std_;
};

// conv3x3(C -> 8) + BN + ReLU + global average pool + linear.
class TinyConvNet : public nn::NetworkImpl {
 public:
  TinyConvNet(int64_t channels, int64_t classes) {
    conv_ = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, 8, 3).padding(1).bias(false)));
    bn_ = register_module("bn", torch::nn::BatchNorm2d(8));
    fc_ = register_module("fc", torch::nn::Linear(8 * 4, classes));
  }
  torch::Tensor forward(torch::Tensor pixels) override {
    torch::Tensor h = torch::relu(bn_->forward(conv_->forward((pixels - 0.5) / 0.25)));
    h = torch::adaptive_avg_pool2d(h, {2, 2});
    return fc_->forward(h.flatten(1));
  }
  std::vector<nn::SpatialLayerView> SpatialLayers() override {
    nn::SpatialLayerView v;
    v.name = "conv";
    v.index = 0;
    v.spatial = conv_->weight.detach();
    v.folded = v.spatial;
    return {v};
  }
  std::vector<std::pair<std::string, torch::Tensor>> CheckpointState() override { return {}; }
  torch::nn::Conv2d conv_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
  torch::nn::Linear fc_{nullptr};
};

// Synthetic task: 4 classes, each a bright quadrant on a noisy C x 8 x 8 image.
inline std::pair<torch::Tensor, torch::Tensor> QuadrantData(int64_t n, int64_t channels, uint64_t seed) {
  torch::manual_seed(seed);
  torch::Tensor labels = torch::randint(0, 4, {n}, torch::kLong);
  torch::Tensor x = torch::rand({n, channels, 8, 8}) * 0.4 + 0.1;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = labels[i].item<int64_t>();
    x[i].narrow(1, (c / 2) * 4, 4).narrow(2, (c % 2) * 4, 4).add_(0.4);
  }
  return {x.clamp(0, 1), labels};
}

// Trains a TinyConvNet on QuadrantData for `steps` Adam steps (eval mode after).
inline std::shared_ptr<TinyConvNet> TrainedTinyNet(int64_t channels, int64_t steps = 300) {
  torch::manual_seed(1);
  auto net = std::make_shared<TinyConvNet>(channels, 4);
  auto [x, y] = QuadrantData(1024, channels, 2);
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(0.02));
  net->train();
  for (int64_t s = 0; s < steps; ++s) {
    const int64_t start = (s * 64) % 1024;
    opt.zero_grad();
    torch::Tensor loss = torch::nn::functional::cross_entropy(net->forward(x.narrow(0, start, 64)), y.narrow(0, start, 64));
    loss.backward();
    opt.step();
  }
  net->eval();
  return net;
}

}  // namespace lcsweep::eval::testing
