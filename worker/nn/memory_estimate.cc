// EstimateTrainingMemory: the counting rules of memory_estimate.h.
#include "worker/nn/memory_estimate.h"

#include <algorithm>

#include "common/data_placement.h"
#include "worker/nn/network.h"

namespace lcsweep::nn {
namespace {

constexpr int64_t kFloat = 4;

int64_t IntermediateOps(const std::string& intermediate) {
  if (intermediate == "relu" || intermediate == "bn") return 1;
  if (intermediate == "bn_relu") return 2;
  return 0;
}

}  // namespace

MemoryEstimate EstimateTrainingMemory(const ModelAccount& account, const EstimateInputs& in) {
  MemoryEstimate e;
  e.parameters = account.params_trained * kFloat;
  e.frozen = (account.params_stored - account.params_trained) * kFloat;
  e.gradients = account.params_trained * kFloat;
  e.optimizer_state = in.momentum ? account.params_trained * kFloat : 0;

  int64_t per_image = in.in_channels * in.image_size * in.image_size;  // the input batch
  int64_t largest_map = per_image;
  int64_t folded_weights = 0;
  for (const LayerAccount& l : account.layers) {
    const int64_t map = l.out_channels * l.output_size * l.output_size;
    if (l.kind == "spatial") {
      per_image += 2 * map;
      largest_map = std::max(largest_map, map);
      if (l.mode == "lc" && l.execution == "unfolded") {
        const int64_t mid = l.lc_rate * map;  // E*c_out maps of o x o
        per_image += mid * (1 + in.intermediate_ops);
        largest_map = std::max(largest_map, mid);
      } else if (l.mode == "lc") {
        folded_weights += l.out_channels * l.in_channels * l.kernel_size * l.kernel_size;
      }
    } else if (l.kind == "conv") {
      per_image += map;
    }
  }
  e.activations = per_image * in.batch_size * kFloat;
  e.workspace = (2 * largest_map * in.batch_size + folded_weights) * kFloat;
  e.data_set = in.data_set_bytes;
  return e;
}

StatusOr<MemoryEstimate> EstimateJobMemory(const JobConfig& job, bool on_cuda) {
  LCSWEEP_ASSIGN_OR_RETURN(ModelSpec spec, ModelSpecForJob(job));
  LCSWEEP_ASSIGN_OR_RETURN(Network network, BuildNetwork(spec));
  LCSWEEP_ASSIGN_OR_RETURN(ModelAccount account, AccountModel(*network));
  EstimateInputs in;
  in.batch_size = job.train.batch_size;
  in.in_channels = spec.in_channels;
  in.image_size = spec.image_size;
  in.momentum = job.train.momentum > 0;
  in.intermediate_ops = IntermediateOps(job.model.conv.intermediate);
  const bool on_device = ResolveDataPlacement(job.data, on_cuda) == DataPlacement::kDevice;
  in.data_set_bytes = on_device ? DeviceDataSetBytes(job.data) : 0;
  return EstimateTrainingMemory(account, in);
}

nlohmann::json MemoryEstimateJson(const MemoryEstimate& e) {
  return {{"parameters", e.parameters},
          {"frozen", e.frozen},
          {"gradients", e.gradients},
          {"optimizer_state", e.optimizer_state},
          {"activations", e.activations},
          {"workspace", e.workspace},
          {"data_set", e.data_set},
          {"total", e.total()},
          {"total_gb", static_cast<double>(e.total()) / (1024.0 * 1024.0 * 1024.0)}};
}

}  // namespace lcsweep::nn
