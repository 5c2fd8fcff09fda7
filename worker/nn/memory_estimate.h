// Memory estimate of one training job: the bytes its device must hold at the
// peak of a training step, from the model accounting (describe.h), the batch
// size, the optimizer and the execution each layer runs. The worker packs
// jobs onto a device by these numbers (worker/agent/packer.h); `lcsweep-train
// describe` and `lcsweep submit --dry-run` print them.
//
// What is counted (float32 everywhere, 4 bytes a scalar):
//   parameters        the trained tensors (ModelAccount::params_trained)
//   frozen            frozen filters and other non-trained weight tensors
//                     (params_stored - params_trained: a shared T once)
//   gradients         one per trained scalar
//   optimizer_state   SGD momentum: one buffer per trained scalar (0 without
//                     momentum)
//   activations       what autograd keeps for the backward pass, per image x
//                     batch size: per spatial layer its conv output (kept by
//                     the BatchNorm after it) and the ReLU output after that
//                     BN (kept by the next conv), 2 * c_out * o^2; a shortcut
//                     conv 1 * c_out * o^2; an unfolded LC layer also its
//                     E*c_out intermediate maps (kept by P), once more for
//                     each intermediate op; and the input batch
//   workspace         the backward pass's transient gradient maps: twice the
//                     largest single activation map of the batch, plus the
//                     folded weights W = P . S of one step
//   data_set          the decoded training and test sets when they are kept
//                     on the device (DeviceDataSetBytes, common/data_placement.h;
//                     0 on the host loader)
// Not counted: allocator rounding and caching (the CUDA caching allocator
// keeps freed blocks; the worker's reserve absorbs it), the CUDA context
// (~0.5 GB per process, also the reserve), evaluation (no autograd, smaller
// than training at the same batch size), BN statistics (c_out scalars).
// Validated against measured peak memory on CPU (tests/nn/memory_estimate_test.cc).
// Thread-safety: pure functions.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

#include "common/job_config.h"
#include "common/status.h"
#include "worker/nn/describe.h"

namespace lcsweep::nn {

struct MemoryEstimate {
  int64_t parameters = 0, frozen = 0, gradients = 0, optimizer_state = 0;
  int64_t activations = 0, workspace = 0, data_set = 0;
  int64_t total() const {
    return parameters + frozen + gradients + optimizer_state + activations + workspace + data_set;
  }
};

struct EstimateInputs {
  int64_t batch_size = 256;
  int64_t in_channels = 3;
  int64_t image_size = 32;
  bool momentum = true;          // SGD with momentum > 0
  int64_t intermediate_ops = 0;  // conv.intermediate: none 0, relu/bn 1, bn_relu 2
  int64_t data_set_bytes = 0;    // decoded training set on the device (0 = on the host)
};

// The estimate for a model's accounting (see above).
MemoryEstimate EstimateTrainingMemory(const ModelAccount& account, const EstimateInputs& inputs);

// The estimate of a job trained on a CUDA device (`on_cuda`) or the CPU:
// builds its model (ModelSpecForJob), accounts it and fills the inputs from
// the config; the data sets count when data.placement resolves to the device
// there. Errors: the model's.
StatusOr<MemoryEstimate> EstimateJobMemory(const JobConfig& job, bool on_cuda);

// {"parameters": .., ..., "total": .., "total_gb": ..} for describe output.
nlohmann::json MemoryEstimateJson(const MemoryEstimate& estimate);

}  // namespace lcsweep::nn
