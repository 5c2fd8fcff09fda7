// The final model of a job as a file that Python's
// torch.load(path, weights_only=True) reads as a plain dict (the format
// spec.proto's Model documents):
//   "<parameter or buffer name>"  every parameter and buffer of the model
//                                 (learned tensors, BatchNorm statistics,
//                                 frozen spatial filters, normalisation),
//                                 CPU, contiguous; floating ones float32,
//                                 integer ones (num_batches_tracked) as they are
//   "_lcsweep_format"             kModelFormat
//   "_lcsweep_config_json"        the job's canonical config JSON
//   "_lcsweep_model_json"         what a reader needs beyond the config:
//                                 {"in_channels", "num_classes",
//                                  "image_size", "normalised", "executions":
//                                  {layer name: "folded" | "unfolded" |
//                                  "reduced"}, "shared": {layer name: the
//                                  buffer holding its shared filters}}
// Names are the module paths of worker/nn (resnet.h, lc_conv.h), which the
// reference PyTorch module python/lcsweep_models reproduces.
//
// Why not torch::save or torch::pickle_save: the first writes a TorchScript
// archive that torch.load cannot read, the second tags every dict with its
// TorchScript type (torch.jit._pickle.restore_type_tag), which
// torch.load(weights_only=True) refuses. This writes the same zip container
// as pickle_save with the type tags off.
//
// Thread-safety: reads `model`; do not train it concurrently.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "worker/nn/network.h"

namespace lcsweep::train {

inline constexpr const char* kModelFormat = "lcsweep.model.v1";

struct ModelExport {
  std::string config_json;
  std::string model_json;
  std::vector<std::pair<std::string, torch::Tensor>> tensors;  // in the file's order
};

// Writes the export of `model` (built from `spec`) atomically (PATH.tmp,
// then rename); sets *bytes to its size when not null. INTERNAL on I/O
// errors, with the path.
Status SaveModelExport(const std::string& path, nn::NetworkImpl& model, const nn::ModelSpec& spec,
                       const std::string& config_json, int64_t* bytes);

// Reads a file SaveModelExport wrote. NOT_FOUND when missing, DATA_LOSS when
// it is not such a file (another format, truncated).
StatusOr<ModelExport> LoadModelExport(const std::string& path);

// Copies the export's tensors into `model` (built from the export's config)
// by name, converting to each target's device and dtype. Every parameter and
// buffer of the model must be given with its shape, and no other tensor:
// INVALID_ARGUMENT naming the first missing, unknown or misshaped one.
Status LoadModelExportInto(const ModelExport& exported, nn::NetworkImpl& model);

}  // namespace lcsweep::train
