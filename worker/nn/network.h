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

#include <map>
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
  // Images per training step: amortises the per-step fold (P . S) in the MAC
  // model that accounting and conv.execution "auto" use.
  int64_t batch_size = 256;
  // train.optimizer: conv.execution "reduced" needs the SGD family (lc_conv.h).
  std::string optimizer = "sgd";
  // dtype of every parameter and buffer at construction. float64 builds the
  // reduced form's Q(0) and R exactly in float64 (exactness checks); a model
  // built in float32 and converted later is exact to float32 only.
  torch::Dtype dtype = torch::kFloat32;
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

  // Side of the output feature map of the named non-LC module (shortcut
  // convs, pooling), recorded at construction for MAC accounting; -1 if unknown.
  int64_t OutputSizeOf(const std::string& module_name) const {
    auto it = output_sizes_.find(module_name);
    return it == output_sizes_.end() ? -1 : it->second;
  }

 protected:
  std::map<std::string, int64_t> output_sizes_;
};

using Network = std::shared_ptr<NetworkImpl>;

// Builds a model of the registry ("resnet_cifar", "resnet18d") from the spec.
// Errors: INVALID_ARGUMENT for unknown arch or impossible options.
StatusOr<Network> BuildNetwork(const ModelSpec& spec);

// Copies a CheckpointState() (of a model built from the same spec) into
// `network` in place. Every entry must name a parameter or buffer of the
// same shape, and every entry of network.CheckpointState() must be given.
// Errors: INVALID_ARGUMENT naming the first unknown, missing or misshaped entry.
Status LoadCheckpointState(NetworkImpl& network,
                           const std::vector<std::pair<std::string, torch::Tensor>>& state);

// Names of the registered models, for error messages and docs.
std::vector<std::string> RegisteredArchitectures();

}  // namespace lcsweep::nn
