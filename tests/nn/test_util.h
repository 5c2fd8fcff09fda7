// Helpers shared by the nn tests.
#pragma once

#include <torch/torch.h>

#include "worker/nn/network.h"

namespace lcsweep::nn::testing {

// Norm-wise relative error ||a - b|| / ||b|| (in double).
inline double RelativeError(const torch::Tensor& a, const torch::Tensor& b) {
  const double denom = b.to(torch::kDouble).norm().item<double>();
  const double num = (a.to(torch::kDouble) - b.to(torch::kDouble)).norm().item<double>();
  return denom == 0 ? num : num / denom;
}

// A small resnet_cifar spec for fast tests.
inline ModelSpec SmallSpec(const std::string& mode = "lc", int64_t e = 2) {
  ModelSpec spec;
  spec.model.arch = "resnet_cifar";
  spec.model.depth = 8;
  spec.model.width = 4;
  spec.model.conv.mode = mode;
  spec.model.conv.lc_rate = e;
  spec.in_channels = 3;
  spec.num_classes = 5;
  spec.image_size = 8;
  spec.mean = {0.5, 0.4, 0.3};
  spec.std = {0.25, 0.2, 0.3};
  spec.seed = 7;
  spec.batch_size = 4;
  return spec;
}

inline Network MustBuild(const ModelSpec& spec) {
  auto net = BuildNetwork(spec);
  if (!net.ok()) throw std::runtime_error(net.status().ToString());
  return *net;
}

}  // namespace lcsweep::nn::testing
