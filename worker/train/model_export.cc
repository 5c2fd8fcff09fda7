#include "worker/train/model_export.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/pickler.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>

#include <nlohmann/json.hpp>

#include "worker/nn/lc_conv.h"

namespace lcsweep::train {
namespace {

constexpr const char* kFormatKey = "_lcsweep_format";
constexpr const char* kConfigKey = "_lcsweep_config_json";
constexpr const char* kModelKey = "_lcsweep_model_json";

// Every parameter and buffer by name: parameters first, then buffers, each
// in registration order (Module::named_parameters / named_buffers).
std::vector<std::pair<std::string, torch::Tensor>> AllTensors(nn::NetworkImpl& model) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : model.named_parameters()) out.emplace_back(item.key(), item.value());
  for (const auto& item : model.named_buffers()) out.emplace_back(item.key(), item.value());
  return out;
}

nlohmann::json ModelJson(nn::NetworkImpl& model, const nn::ModelSpec& spec) {
  // Which buffer each sharing layer reads its filters from (by identity).
  std::map<const void*, std::string> buffer_names;
  for (const auto& item : model.named_buffers()) buffer_names[item.value().unsafeGetTensorImpl()] = item.key();
  nlohmann::json executions = nlohmann::json::object(), shared = nlohmann::json::object();
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    auto lc = std::dynamic_pointer_cast<nn::LcConv2dImpl>(item.value());
    if (!lc) continue;
    executions[item.key()] = lc->Account().execution;
    if (lc->options().share_group >= 0) {
      auto it = buffer_names.find(lc->FrozenStorage().unsafeGetTensorImpl());
      if (it != buffer_names.end()) shared[item.key()] = it->second;
    }
  }
  return {{"in_channels", spec.in_channels},
          {"num_classes", spec.num_classes},
          {"image_size", spec.image_size},
          {"normalised", !spec.mean.empty()},
          {"executions", executions},
          {"shared", shared}};
}

}  // namespace

Status SaveModelExport(const std::string& path, nn::NetworkImpl& model, const nn::ModelSpec& spec,
                       const std::string& config_json, int64_t* bytes) {
  std::vector<char> container;
  try {
    torch::NoGradGuard no_grad;
    c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
    for (const auto& [name, t] : AllTensors(model)) {
      // clone: a view of a shared tensor must not drag its whole storage along.
      // Floating tensors in float32 (a float64 or bfloat16 model reads the
      // same); integer ones (BatchNorm's num_batches_tracked) keep their type.
      torch::Tensor cpu = t.detach().to(torch::kCPU);
      if (cpu.is_floating_point()) cpu = cpu.to(torch::kFloat32);
      dict.insert(name, cpu.contiguous().clone());
    }
    dict.insert(kFormatKey, std::string(kModelFormat));
    dict.insert(kConfigKey, config_json);
    dict.insert(kModelKey, ModelJson(model, spec).dump());
    std::vector<char> pickle;
    torch::jit::Pickler pickler(
        [&](const char* buf, size_t size) { pickle.insert(pickle.end(), buf, buf + size); }, nullptr,
        nullptr, nullptr, nullptr, /*tag_aggregates=*/false);
    pickler.protocol();
    pickler.pushIValue(c10::IValue(dict));
    pickler.stop();
    caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t size) {
      const char* p = static_cast<const char*>(data);
      container.insert(container.end(), p, p + size);
      return size;
    });
    torch::jit::writeArchiveAndTensors("data", pickle.data(), pickle.size(), pickler.tensorData(), writer);
    writer.writeEndOfFile();
  } catch (const c10::Error& e) {
    return InternalError("cannot serialise the model: " + std::string(e.what_without_backtrace()));
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(container.data(), static_cast<std::streamsize>(container.size()));
    if (!out) return InternalError("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return InternalError("cannot rename " + tmp + " to " + path);
  if (bytes != nullptr) *bytes = static_cast<int64_t>(container.size());
  return OkStatus();
}

StatusOr<ModelExport> LoadModelExport(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError(path + ": cannot open model file");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ModelExport out;
  try {
    c10::IValue value = torch::pickle_load(bytes);
    if (!value.isGenericDict()) return DataLossError(path + ": not an lcsweep model file (no dict inside)");
    bool format_ok = false;
    for (const auto& entry : value.toGenericDict()) {
      if (!entry.key().isString()) return DataLossError(path + ": a key of the model dict is not a string");
      const std::string key = entry.key().toStringRef();
      if (key == kFormatKey) {
        format_ok = entry.value().isString() && entry.value().toStringRef() == kModelFormat;
      } else if (key == kConfigKey && entry.value().isString()) {
        out.config_json = entry.value().toStringRef();
      } else if (key == kModelKey && entry.value().isString()) {
        out.model_json = entry.value().toStringRef();
      } else if (entry.value().isTensor()) {
        out.tensors.emplace_back(key, entry.value().toTensor());
      } else {
        return DataLossError(path + ": entry '" + key + "' is neither a tensor nor a known string");
      }
    }
    if (!format_ok) return DataLossError(path + ": not an lcsweep model file (" + kFormatKey + " missing)");
    if (out.config_json.empty()) return DataLossError(path + ": the model file has no job config");
  } catch (const c10::Error& e) {
    return DataLossError(path + ": unreadable model file: " + e.what_without_backtrace());
  }
  return out;
}

Status LoadModelExportInto(const ModelExport& exported, nn::NetworkImpl& model) {
  std::map<std::string, torch::Tensor> given(exported.tensors.begin(), exported.tensors.end());
  torch::NoGradGuard no_grad;
  for (auto& [name, target] : AllTensors(model)) {
    auto it = given.find(name);
    if (it == given.end()) return InvalidArgumentError("model file lacks tensor '" + name + "'");
    if (it->second.sizes() != target.sizes()) {
      return InvalidArgumentError("model file tensor '" + name + "' has shape " +
                                  c10::str(it->second.sizes()) + ", the model expects " + c10::str(target.sizes()));
    }
    target.copy_(it->second.to(target.device(), target.scalar_type()));
    given.erase(it);
  }
  if (!given.empty()) {
    return InvalidArgumentError("model file has tensor '" + given.begin()->first +
                                "' that this model does not have (built from another config?)");
  }
  return OkStatus();
}

}  // namespace lcsweep::train
