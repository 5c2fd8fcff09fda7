// The pieces of docs/method.md section 5's recipe that are pure functions: the
// learning-rate schedules and the label-smoothing loss.
// Thread-safety: pure functions.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "common/job_config.h"
#include "common/status.h"

namespace lcsweep::train {

// Learning rate for global step `step` (0-based: the rate used by the
// step-th optimizer update), stepped every iteration:
//   warm-up (warmup_epochs * steps_per_epoch steps W): lr * (step + 1) / W
//   cosine:   lr * (1 + cos(pi * t / T)) / 2, t = step - W, T = total - W
//             (PyTorch's CosineAnnealingLR with T_max = T, eta_min = 0,
//             stepped every iteration; reaches 0 after the last step)
//   step:     lr * step_gamma ^ floor(epoch(step) / step_epochs)
//   constant: lr
double LearningRate(const TrainConfig& t, int64_t step, int64_t steps_per_epoch);

// Checks the schedule fields. INVALID_ARGUMENT naming the field.
Status ValidateSchedule(const TrainConfig& t);

// Cross-entropy with label smoothing eps (PyTorch's definition):
// mean over the batch of (1 - eps) * (-log p_y) + eps * mean_k(-log p_k).
// Computed in float32 whatever the logits' dtype.
torch::Tensor SmoothedCrossEntropy(const torch::Tensor& logits, const torch::Tensor& targets, double eps);

}  // namespace lcsweep::train
