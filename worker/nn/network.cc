// The model registry: arch name -> layout/constructor, and the shared
// validation that turns impossible options into INVALID_ARGUMENT.
#include "worker/nn/network.h"

#include <functional>
#include <map>
#include <stdexcept>

#include "worker/nn/lc_conv.h"
#include "worker/nn/resnet.h"

namespace lcsweep::nn {

namespace {

using LayoutFn = std::function<StatusOr<ResNetLayout>(const ModelSpec&)>;

const std::map<std::string, LayoutFn>& Registry() {
  static const auto* registry = new std::map<std::string, LayoutFn>{
      {"resnet_cifar", ResNetCifarLayout},
      {"resnet18d", ResNet18dLayout},
  };
  return *registry;
}

Status ValidateSpec(const ModelSpec& spec) {
  if (spec.in_channels < 1) return InvalidArgumentError("input channels must be >= 1");
  if (spec.num_classes < 1) return InvalidArgumentError("number of classes must be >= 1");
  if (spec.image_size < 1) return InvalidArgumentError("image size must be >= 1");
  if (spec.seed < 0) return InvalidArgumentError("seed must be >= 0, got " + std::to_string(spec.seed));
  if (spec.mean.size() != spec.std.size() ||
      (!spec.mean.empty() && static_cast<int64_t>(spec.mean.size()) != spec.in_channels)) {
    return InvalidArgumentError("normalisation needs one mean and one std per input channel (" +
                                std::to_string(spec.in_channels) + "), got " +
                                std::to_string(spec.mean.size()) + " and " + std::to_string(spec.std.size()));
  }
  for (double s : spec.std) {
    if (!(s > 0)) return InvalidArgumentError("normalisation std values must be > 0");
  }
  // The conv options every layer shares; per-layer shapes are valid by construction.
  LcConv2dOptions probe;
  probe.conv = spec.model.conv;
  probe.kernel_size = spec.model.kernel_size;
  probe.batch_size = spec.batch_size;
  return ValidateLcConv2dOptions(probe);
}

}  // namespace

std::vector<std::string> RegisteredArchitectures() {
  std::vector<std::string> names;
  for (const auto& [name, fn] : Registry()) names.push_back(name);
  return names;
}

StatusOr<Network> BuildNetwork(const ModelSpec& spec) {
  auto it = Registry().find(spec.model.arch);
  if (it == Registry().end()) {
    std::string allowed;
    for (const auto& name : RegisteredArchitectures()) allowed += (allowed.empty() ? "" : ", ") + name;
    return InvalidArgumentError("unknown model.arch '" + spec.model.arch + "'; allowed: " + allowed);
  }
  LCSWEEP_RETURN_IF_ERROR(ValidateSpec(spec));
  LCSWEEP_ASSIGN_OR_RETURN(ResNetLayout layout, it->second(spec));
  try {
    return Network(std::make_shared<ResNetImpl>(spec, layout));
  } catch (const std::invalid_argument& e) {
    return InvalidArgumentError(e.what());
  } catch (const c10::Error& e) {
    return InternalError(std::string("building ") + spec.model.arch + ": " + e.what_without_backtrace());
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory building " + spec.model.arch);
  }
}

Status LoadCheckpointState(NetworkImpl& network,
                           const std::vector<std::pair<std::string, torch::Tensor>>& state) {
  std::map<std::string, torch::Tensor> targets;
  for (auto& [name, tensor] : network.CheckpointState()) targets[name] = tensor;
  std::map<std::string, const torch::Tensor*> given;
  for (const auto& [name, tensor] : state) {
    auto it = targets.find(name);
    if (it == targets.end()) {
      return InvalidArgumentError("checkpoint entry '" + name +
                                  "' is not a learned tensor of this model (was it built from another spec?)");
    }
    if (!tensor.sizes().equals(it->second.sizes())) {
      return InvalidArgumentError("checkpoint entry '" + name + "' has shape " + c10::str(tensor.sizes()) +
                                  ", the model has " + c10::str(it->second.sizes()));
    }
    given[name] = &tensor;
  }
  for (const auto& [name, tensor] : targets) {
    if (!given.count(name)) return InvalidArgumentError("checkpoint lacks entry '" + name + "'");
  }
  torch::NoGradGuard no_grad;
  for (auto& [name, target] : targets) target.copy_(*given[name]);
  return OkStatus();
}

}  // namespace lcsweep::nn
