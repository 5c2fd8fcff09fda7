// The ResNet family of the registry, torchvision-style: one template
// (ResNetImpl over a ResNetLayout) and one-line variants.
//
//   resnet_cifar  ResNet-LC-D-WxE (docs/method.md section 4): stem k x k conv 3 -> W
//                 + BN + ReLU; stages W, 2W, 4W of n = (D-2)/6 BasicBlocks;
//                 stride 2 in the first block of stages 2 and 3; shortcut
//                 1x1 conv stride 2 + BN when the shape changes; GAP + Linear.
//   resnet18d     timm's resnet18d: deep stem k x k convs W/2 (stride 2), W/2,
//                 W (+ BN + ReLU after each) + 3x3 max-pool stride 2; stages
//                 W, 2W, 4W, 8W of 2 BasicBlocks, strides 1, 2, 2, 2;
//                 shortcut AvgPool2d(2, ceil, count_include_pad=false) +
//                 1x1 conv + BN; GAP + Linear. W = model.width (64 for the
//                 paper's model); model.depth is ignored (always 18).
// Every k x k conv (stem included) is an LcConv2d; 1x1 shortcuts are plain
// learned convs.
//
// Parameter names (match a PyTorch port: torchvision / timm names, with the
// LC block's children, see lc_conv.h):
//   resnet_cifar: conv1.{weight | spatial.weight, lc.weight}, bn1.*,
//                 layer{1,2,3}.{j}.conv{1,2}.*, .bn{1,2}.*, .downsample.{0 conv,1 bn}.*, fc.*
//   resnet18d:    conv1.{0,3,6} (stem convs), conv1.{1,4} (stem BNs), bn1.*,
//                 layer{1..4}.{j}.conv{1,2}.*, .downsample.{1 conv, 2 bn}.*, fc.*
//   buffers:      norm_mean, norm_std ([1, C, 1, 1]); shared_spatial_{g}
//                 (sharing); BN running stats.
// Thread-safety: like any torch::nn::Module.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "common/status.h"
#include "worker/nn/lc_conv.h"
#include "worker/nn/network.h"

namespace lcsweep::nn {

struct ResNetLayout {
  std::vector<int64_t> stem_widths;   // one entry: single stem conv; several: deep stem
  int64_t stem_stride = 1;            // stride of the first stem conv
  bool stem_max_pool = false;         // 3x3 max-pool stride 2 after the stem
  std::vector<int64_t> stage_widths;
  std::vector<int64_t> stage_blocks;
  std::vector<int64_t> stage_strides;
  bool avg_down = false;              // shortcut: avg-pool + 1x1 conv (else strided 1x1 conv)
};

// Layouts of the registered variants; INVALID_ARGUMENT for bad depth/width.
StatusOr<ResNetLayout> ResNetCifarLayout(const ModelSpec& spec);
StatusOr<ResNetLayout> ResNet18dLayout(const ModelSpec& spec);

class BasicBlockImpl : public torch::nn::Module {
 public:
  BasicBlockImpl(LcConv2d conv1, LcConv2d conv2, torch::nn::Sequential downsample);
  torch::Tensor forward(const torch::Tensor& x);

  LcConv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Sequential downsample{nullptr};
};
TORCH_MODULE(BasicBlock);

class ResNetImpl : public NetworkImpl {
 public:
  // Throws std::invalid_argument for options ValidateModelSpec would reject
  // (BuildNetwork validates first and catches).
  ResNetImpl(const ModelSpec& spec, const ResNetLayout& layout);

  torch::Tensor forward(torch::Tensor pixels) override;
  std::vector<SpatialLayerView> SpatialLayers() override;
  std::vector<std::pair<std::string, torch::Tensor>> CheckpointState() override;

  // Every LcConv2d with its full name, in layer-index order.
  std::vector<std::pair<std::string, LcConv2d>> LcLayers();

 private:
  void AttachSharedTensors();

  ModelSpec spec_;
  torch::Tensor norm_mean_, norm_std_;
  LcConv2d conv1_{nullptr};              // resnet_cifar stem conv
  torch::nn::Sequential deep_stem_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr};
  bool max_pool_ = false;
  std::vector<torch::nn::Sequential> stages_;
  torch::nn::Linear fc_{nullptr};
};
TORCH_MODULE(ResNet);

}  // namespace lcsweep::nn
