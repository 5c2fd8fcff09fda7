// The logits of an exported model (model_export.h) on its job's test images:
// what a reader of the export (python/lcsweep_models) is checked against.
// The model is rebuilt from the config inside the file (on the CPU, float32),
// filled by name, and run in eval mode on the first `limit` test images of
// the job's data set (its data.test_limit and data.root apply; limit 0 = all
// of them), in batches of `batch_size`.
// Thread-safety: uses LibTorch's global thread pool; one call at a time.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "common/status.h"

namespace lcsweep::train {

struct ModelLogits {
  torch::Tensor images;  // [N, C, H, W] float32, pixel space [0, 1]
  torch::Tensor labels;  // [N] int64
  torch::Tensor logits;  // [N, classes] float32
  int64_t correct = 0;   // argmax(logits) == label
};

// Errors: LoadModelExport's, the config's (INVALID_ARGUMENT), the data set's.
StatusOr<ModelLogits> ComputeModelLogits(const std::string& model_path, int64_t limit, int64_t batch_size = 256);

}  // namespace lcsweep::train
