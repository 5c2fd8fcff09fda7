// Network: the interface every model of the registry implements, and what the
// trainer and evaluation see of a model. (Contract shared by worker/nn,
// worker/train and worker/eval; implementations live in worker/nn.)
//
// - forward() takes images in [0, 1] pixel space, [N, C, H, W]; per-channel
//   normalisation happens inside the model, so attacks work in pixel space.
// - Frozen spatial filters are buffers, not parameters: parameters() holds
//   exactly the trained tensors (what the optimizer and weight decay see).
//   They are regenerated from (seed, layer index, shape, init) at
//   construction, so CheckpointState() leaves them out.
// Thread-safety: like any torch::nn::Module, not safe for concurrent use.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/job_config.h"
#include "common/status.h"

namespace lcsweep::nn {

// What a model needs beyond the job's model section.
struct ModelSpec {
  ModelConfig model;
  int64_t in_channels = 3;
  int64_t num_classes = 10;
  int64_t image_size = 32;        // for MAC accounting
  std::vector<double> mean = {};  // per-channel normalisation (empty = none)
  std::vector<double> std = {};
  int64_t seed = 0;               // frozen/random filters derive from it
};

// One spatial (k x k) layer as filter statistics see it. Tensors are views
// of the live weights (detached). `combination` (P, [c_out, c_out*E, 1, 1])
// is undefined for plain convs; `folded` is P composed with S ([c_out, c_in, k, k]),
// equal to `spatial` for plain convs.
struct SpatialLayerView {
  std::string name;
  int64_t index = 0;
  torch::Tensor spatial;
  torch::Tensor combination;
  torch::Tensor folded;
};

class NetworkImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor pixels) = 0;
  virtual std::vector<SpatialLayerView> SpatialLayers() = 0;
  // Learned parameters and BatchNorm statistics by name, frozen filters excluded:
  // what a checkpoint must store to restore the model exactly.
  virtual std::vector<std::pair<std::string, torch::Tensor>> CheckpointState() = 0;
};

using Network = std::shared_ptr<NetworkImpl>;

// Builds a model of the registry ("resnet_cifar", "resnet18d") from the spec.
// Errors: INVALID_ARGUMENT for unknown arch or impossible options.
StatusOr<Network> BuildNetwork(const ModelSpec& spec);

}  // namespace lcsweep::nn
