#include "worker/nn/fold.h"

#include <map>

#include "worker/nn/resnet.h"

namespace lcsweep::nn {

StatusOr<ModelSpec> FoldedSpec(const ModelSpec& spec) {
  if (spec.model.conv.intermediate != "none") {
    return FailedPreconditionError("cannot fold a model with model.conv.intermediate '" +
                                   spec.model.conv.intermediate +
                                   "': the LC blocks are not linear, so no plain conv computes them");
  }
  ModelSpec folded = spec;
  folded.model.conv = ConvConfig();
  folded.model.conv.mode = "learned";
  folded.model.conv.init = spec.model.conv.init;
  return folded;
}

StatusOr<Network> FoldForInference(NetworkImpl& trained, const ModelSpec& spec) {
  LCSWEEP_ASSIGN_OR_RETURN(ModelSpec folded_spec, FoldedSpec(spec));
  auto* source = dynamic_cast<ResNetImpl*>(&trained);
  if (source == nullptr) return UnimplementedError("fold-for-inference supports the ResNet family only");
  LCSWEEP_ASSIGN_OR_RETURN(Network plain, BuildNetwork(folded_spec));
  try {
    torch::NoGradGuard no_grad;
    std::map<std::string, torch::Tensor> values;
    for (const auto& item : trained.named_parameters()) values[item.key()] = item.value();
    for (const auto& item : trained.named_buffers()) values[item.key()] = item.value();
    for (auto& [name, layer] : source->LcLayers()) values[name + ".weight"] = layer->FoldedWeight();
    auto copy = [&](const std::string& name, torch::Tensor& target) -> Status {
      auto it = values.find(name);
      if (it == values.end()) return InternalError("folded model tensor '" + name + "' has no source");
      if (!it->second.sizes().equals(target.sizes())) {
        return InternalError("folded model tensor '" + name + "' shape mismatch");
      }
      target.copy_(it->second);
      return OkStatus();
    };
    for (auto& item : plain->named_parameters()) LCSWEEP_RETURN_IF_ERROR(copy(item.key(), item.value()));
    for (auto& item : plain->named_buffers()) LCSWEEP_RETURN_IF_ERROR(copy(item.key(), item.value()));
  } catch (const c10::Error& e) {
    return InternalError(std::string("folding: ") + e.what_without_backtrace());
  }
  plain->train(trained.is_training());
  return plain;
}

Status SaveNetwork(NetworkImpl& network, const std::string& path) {
  try {
    torch::serialize::OutputArchive archive;
    network.save(archive);
    archive.save_to(path);
  } catch (const c10::Error& e) {
    return InternalError("saving model to " + path + ": " + e.what_without_backtrace());
  }
  return OkStatus();
}

Status LoadNetwork(NetworkImpl& network, const std::string& path) {
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    network.load(archive);
  } catch (const c10::Error& e) {
    return DataLossError("loading model from " + path + ": " + e.what_without_backtrace());
  }
  return OkStatus();
}

}  // namespace lcsweep::nn
