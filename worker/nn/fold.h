// Fold-for-inference: a trained LC model becomes the plain-conv model that
// computes the same function (conv.mode "learned", W = P . S per layer, every
// other tensor copied by name), e.g. for deployment or for evaluating with a
// plain conv's cost. Frozen plain convs become learned ones with the same
// weight. Models with an intermediate op cannot be folded.
// Thread-safety: reads `trained`; do not train it concurrently.
#pragma once

#include <string>

#include "common/status.h"
#include "worker/nn/network.h"

namespace lcsweep::nn {

// The spec of the folded model: mode learned, intermediate none, sharing none.
// FAILED_PRECONDITION when the spec has an intermediate op.
StatusOr<ModelSpec> FoldedSpec(const ModelSpec& spec);

// Builds FoldedSpec(spec) (on the CPU, float32) and fills it from `trained`,
// which must have been built from `spec` (any device/dtype).
StatusOr<Network> FoldForInference(NetworkImpl& trained, const ModelSpec& spec);

// torch::save / torch::load of every parameter and buffer by name (an
// OutputArchive of the module). Load needs a model built from the same spec.
// Errors: INTERNAL / DATA_LOSS with the LibTorch message.
Status SaveNetwork(NetworkImpl& network, const std::string& path);
Status LoadNetwork(NetworkImpl& network, const std::string& path);

}  // namespace lcsweep::nn
