#include "worker/nn/describe.h"

#include <set>

#include "common/dataset_info.h"
#include "worker/nn/lc_conv.h"
#include "worker/nn/resnet.h"

namespace lcsweep::nn {

namespace {

int64_t NumelOf(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters(/*recurse=*/false)) n += p.numel();
  return n;
}

nlohmann::json LayerJson(const LayerAccount& l) {
  nlohmann::json j = {{"name", l.name},
                      {"kind", l.kind},
                      {"params_total", l.params_total},
                      {"params_learned", l.params_learned},
                      {"params_frozen", l.params_frozen},
                      {"params_trained", l.params_trained}};
  if (l.kind == "bn") return j;
  j["in_channels"] = l.in_channels;
  j["out_channels"] = l.out_channels;
  if (l.kind != "linear") {
    j["kernel_size"] = l.kernel_size;
    j["stride"] = l.stride;
    j["input_size"] = l.input_size;
    j["output_size"] = l.output_size;
  }
  if (l.kind == "spatial") {
    j["mode"] = l.mode;
    j["lc_rate"] = l.lc_rate;
    j["execution"] = l.execution;
    j["fold_macs"] = l.fold_macs;
    j["fold_macs_reduced"] = l.fold_macs_reduced;
  }
  j["train_macs_folded"] = l.train_macs_folded;
  j["train_macs_unfolded"] = l.train_macs_unfolded;
  j["train_macs_reduced"] = l.train_macs_reduced;
  j["train_macs"] = l.train_macs;
  j["inference_macs"] = l.inference_macs;
  return j;
}

}  // namespace

StatusOr<ModelAccount> AccountModel(NetworkImpl& network) {
  ModelAccount account;
  std::set<const void*> frozen_storage;
  std::vector<std::string> lc_prefixes;
  for (const auto& item : network.named_modules("", /*include_self=*/false)) {
    const std::string& name = item.key();
    const auto& module = item.value();
    bool inside_lc = false;
    for (const auto& prefix : lc_prefixes) inside_lc |= name.rfind(prefix, 0) == 0;
    if (inside_lc) continue;  // S, P, mid BN: accounted by their LcConv2d
    LayerAccount l;
    l.name = name;
    if (auto lc = std::dynamic_pointer_cast<LcConv2dImpl>(module)) {
      lc_prefixes.push_back(name + ".");
      const LcConvAccount a = lc->Account();
      l.kind = "spatial";
      l.mode = a.mode;
      l.execution = a.execution;
      l.in_channels = a.in_channels;
      l.out_channels = a.out_channels;
      l.kernel_size = a.kernel_size;
      l.stride = a.stride;
      l.lc_rate = a.lc_rate;
      l.input_size = a.input_size;
      l.output_size = a.output_size;
      l.params_total = a.params_total;
      l.params_learned = a.params_learned;
      l.params_frozen = a.params_frozen;
      l.params_trained = a.params_trained;
      l.fold_macs = a.fold_macs;
      l.fold_macs_reduced = a.fold_macs_reduced;
      l.train_macs_folded = a.train_macs_folded;
      l.train_macs_unfolded = a.train_macs_unfolded;
      l.train_macs_reduced = a.train_macs_reduced;
      l.train_macs = a.train_macs;
      l.inference_macs = a.inference_macs;
      torch::Tensor frozen = lc->FrozenStorage();
      if (frozen.defined() && frozen_storage.insert(frozen.unsafeGetTensorImpl()).second) {
        account.params_stored += frozen.numel();
      }
    } else if (auto conv = std::dynamic_pointer_cast<torch::nn::Conv2dImpl>(module)) {
      const auto& o = conv->options;
      l.kind = "conv";
      l.in_channels = o.in_channels();
      l.out_channels = o.out_channels();
      l.kernel_size = (*o.kernel_size())[0];
      l.stride = (*o.stride())[0];
      l.output_size = network.OutputSizeOf(name);
      if (l.output_size < 0) return InternalError("no recorded output size for conv '" + name + "'");
      l.input_size = l.output_size * l.stride;
      l.params_total = l.params_learned = l.params_trained = NumelOf(*conv);
      const int64_t macs = conv->weight.numel() * l.output_size * l.output_size;
      l.train_macs_folded = l.train_macs_unfolded = l.train_macs_reduced = l.train_macs = l.inference_macs =
          macs;
    } else if (auto linear = std::dynamic_pointer_cast<torch::nn::LinearImpl>(module)) {
      l.kind = "linear";
      l.in_channels = linear->options.in_features();
      l.out_channels = linear->options.out_features();
      l.params_total = l.params_learned = l.params_trained = NumelOf(*linear);
      l.train_macs_folded = l.train_macs_unfolded = l.train_macs_reduced = l.train_macs = l.inference_macs =
          linear->weight.numel();
    } else if (auto bn = std::dynamic_pointer_cast<torch::nn::BatchNorm2dImpl>(module)) {
      l.kind = "bn";
      l.out_channels = bn->options.num_features();
      l.params_total = l.params_learned = l.params_trained = NumelOf(*bn);
    } else {
      if (NumelOf(*module) != 0) {
        return InternalError("accounting does not know module '" + name + "' (" + module->name() +
                             "), which has parameters");
      }
      continue;
    }
    account.params_total += l.params_total;
    account.params_learned += l.params_learned;
    account.params_frozen += l.params_frozen;
    account.params_trained += l.params_trained;
    account.train_macs_folded += l.train_macs_folded;
    account.train_macs_unfolded += l.train_macs_unfolded;
    account.train_macs_reduced += l.train_macs_reduced;
    account.train_macs += l.train_macs;
    account.inference_macs += l.inference_macs;
    account.fold_macs_per_step += l.fold_macs;
    account.fold_reduced_macs_per_step += l.fold_macs_reduced;
    account.layers.push_back(std::move(l));
  }
  int64_t trained = 0;
  std::set<const void*> seen;
  for (const auto& p : network.parameters()) {
    if (seen.insert(p.unsafeGetTensorImpl()).second) trained += p.numel();
  }
  if (trained != account.params_trained) {
    return InternalError("accounting walk found " + std::to_string(account.params_trained) +
                         " trained parameters, parameters() holds " + std::to_string(trained));
  }
  account.params_stored += trained;
  account.params_stored_frozen_regenerated = trained;
  return account;
}

StatusOr<nlohmann::json> DescribeModel(const ModelSpec& spec) {
  LCSWEEP_ASSIGN_OR_RETURN(Network network, BuildNetwork(spec));
  LCSWEEP_ASSIGN_OR_RETURN(ModelAccount a, AccountModel(*network));
  const ConvConfig& c = spec.model.conv;
  nlohmann::json j;
  j["model"] = {{"arch", spec.model.arch},
                {"depth", spec.model.arch == "resnet18d" ? 18 : spec.model.depth},
                {"width", spec.model.width},
                {"kernel_size", spec.model.kernel_size},
                {"conv",
                 {{"mode", c.mode},
                  {"lc_rate", c.lc_rate},
                  {"spatial", c.spatial},
                  {"init", c.init},
                  {"sharing", c.sharing},
                  {"intermediate", c.intermediate},
                  {"execution", c.execution}}}};
  j["input"] = {{"channels", spec.in_channels}, {"image_size", spec.image_size}};
  j["num_classes"] = spec.num_classes;
  j["seed"] = spec.seed;
  j["batch_size"] = spec.batch_size;
  j["parameters"] = {{"total", a.params_total},
                     {"learned", a.params_learned},
                     {"frozen", a.params_frozen},
                     {"trained", a.params_trained},
                     {"stored", a.params_stored},
                     {"stored_frozen_regenerated", a.params_stored_frozen_regenerated},
                     {"trained_state_bytes", 2 * a.params_trained * 4}};
  j["macs_per_image"] = {{"train_folded", a.train_macs_folded},
                         {"train_unfolded", a.train_macs_unfolded},
                         {"train_reduced", a.train_macs_reduced},
                         {"train", a.train_macs},
                         {"inference", a.inference_macs},
                         {"fold_per_step", a.fold_macs_per_step},
                         {"fold_reduced_per_step", a.fold_reduced_macs_per_step}};
  j["layers"] = nlohmann::json::array();
  for (const auto& l : a.layers) j["layers"].push_back(LayerJson(l));
  j["notes"] = {
      {"parameters",
       "total = learned + frozen (a shared tensor counts per layer); trained = what the optimizer "
       "holds (reduced LC blocks train Q and c instead of P); stored counts a shared tensor once; "
       "stored_frozen_regenerated = trained (frozen filters regenerate from the seed); "
       "trained_state_bytes = float32 trained tensors plus momentum buffers"},
      {"macs_per_image",
       "forward multiply-accumulates per image; train_folded adds fold_per_step / batch_size; "
       "BN, ReLU and pooling not counted"}};
  return j;
}

StatusOr<ModelSpec> ModelSpecForJob(const JobConfig& job) {
  LCSWEEP_ASSIGN_OR_RETURN(DataSetInfo info, GetDataSetInfo(job.data));
  ModelSpec spec;
  spec.model = job.model;
  spec.in_channels = info.channels;
  spec.num_classes = info.classes;
  spec.image_size = info.image_size;
  spec.mean = info.mean;
  spec.std = info.std;
  spec.seed = job.seed;
  spec.batch_size = job.train.batch_size;
  spec.optimizer = job.train.optimizer;
  return spec;
}

}  // namespace lcsweep::nn
