// Clean (unperturbed) evaluation: top-1, top-5 and mean cross-entropy.
//
// The model must already be in the mode the caller wants (RunEvaluation puts
// it in eval mode). Runs under NoGradGuard in batches; images are moved to
// `device` batch by batch, so the full set may stay on the CPU.
// Thread-safety: uses the model; not safe concurrently with other users of it.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "worker/nn/network.h"

namespace lcsweep::eval {

struct CleanMetrics {
  double accuracy = 0, top5 = 0, loss = 0;  // fractions in [0,1]; loss = mean CE (no smoothing)
  int64_t n = 0;
};

// images: float [N,C,H,W] in [0,1]; labels: int64 [N]. top5 uses k = min(5, classes).
CleanMetrics EvaluateClean(nn::NetworkImpl& model, const torch::Tensor& images,
                           const torch::Tensor& labels, torch::Device device, int64_t batch_size);

// Per-image correctness (bool [N], CPU) of the model's top-1 prediction.
torch::Tensor CorrectMask(nn::NetworkImpl& model, const torch::Tensor& images,
                          const torch::Tensor& labels, torch::Device device, int64_t batch_size);

}  // namespace lcsweep::eval
