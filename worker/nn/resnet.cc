#include "worker/nn/resnet.h"

#include <map>
#include <set>
#include <stdexcept>

namespace lcsweep::nn {

namespace {

// Hands out layer indices (the RNG key) in construction order and tracks
// feature-map sizes while the network is assembled.
class LayerFactory {
 public:
  explicit LayerFactory(const ModelSpec& spec) : spec_(spec) {}

  LcConv2d Spatial(int64_t in, int64_t out, int64_t stride, int64_t input_size) {
    LcConv2dOptions o;
    o.in_channels = in;
    o.out_channels = out;
    o.kernel_size = spec_.model.kernel_size;
    o.stride = stride;
    o.conv = spec_.model.conv;
    o.seed = static_cast<uint64_t>(spec_.seed);
    o.layer_index = next_layer_++;
    o.input_size = input_size;
    o.batch_size = spec_.batch_size;
    o.optimizer = spec_.optimizer;
    o.dtype = spec_.dtype;
    if (spec_.model.conv.sharing != "none") o.share_group = 0;  // regrouped in AttachSharedTensors
    return LcConv2d(o);
  }

  // 1x1 learned shortcut conv, Kaiming-uniform from CounterRng.
  torch::nn::Conv2d Shortcut(int64_t in, int64_t out, int64_t stride) {
    auto conv = torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1).stride(stride).bias(false));
    torch::NoGradGuard no_grad;
    conv->weight.set_data(InitTensor(InitKind::kKaimingUniform, {out, in, 1, 1}, in,
                                     CounterRng(static_cast<uint64_t>(spec_.seed), next_shortcut_++,
                                                RngStream::kShortcut)));
    return conv;
  }

 private:
  const ModelSpec& spec_;
  int64_t next_layer_ = 0;
  int64_t next_shortcut_ = 0;
};

int64_t ConvOut(int64_t size, int64_t kernel, int64_t stride) {
  return (size + 2 * (kernel / 2) - kernel) / stride + 1;
}

}  // namespace

StatusOr<ResNetLayout> ResNetCifarLayout(const ModelSpec& spec) {
  const int64_t d = spec.model.depth, w = spec.model.width;
  if (d < 8 || (d - 2) % 6 != 0) {
    return InvalidArgumentError("model.depth for resnet_cifar must be 6n+2 with n >= 1 (8, 14, 20, 32, "
                                "44, 56, 110, ...), got " + std::to_string(d));
  }
  if (w < 1) return InvalidArgumentError("model.width must be >= 1, got " + std::to_string(w));
  ResNetLayout l;
  l.stem_widths = {w};
  l.stage_widths = {w, 2 * w, 4 * w};
  l.stage_blocks.assign(3, (d - 2) / 6);
  l.stage_strides = {1, 2, 2};
  return l;
}

StatusOr<ResNetLayout> ResNet18dLayout(const ModelSpec& spec) {
  const int64_t w = spec.model.width;
  if (w < 2 || w % 2 != 0) {
    return InvalidArgumentError("model.width for resnet18d must be even and >= 2 (64 is the standard "
                                "ResNet-18d), got " + std::to_string(w));
  }
  ResNetLayout l;
  l.stem_widths = {w / 2, w / 2, w};
  l.stem_stride = 2;
  l.stem_max_pool = true;
  l.stage_widths = {w, 2 * w, 4 * w, 8 * w};
  l.stage_blocks = {2, 2, 2, 2};
  l.stage_strides = {1, 2, 2, 2};
  l.avg_down = true;
  return l;
}

BasicBlockImpl::BasicBlockImpl(LcConv2d c1, LcConv2d c2, torch::nn::Sequential ds) {
  conv1 = register_module("conv1", c1);
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(c1->options().out_channels));
  conv2 = register_module("conv2", c2);
  bn2 = register_module("bn2", torch::nn::BatchNorm2d(c2->options().out_channels));
  if (ds) downsample = register_module("downsample", ds);
}

torch::Tensor BasicBlockImpl::forward(const torch::Tensor& x) {
  torch::Tensor out = torch::relu(bn1->forward(conv1->forward(x)));
  out = bn2->forward(conv2->forward(out));
  torch::Tensor shortcut = downsample ? downsample->forward(x) : x;
  return torch::relu(out + shortcut);
}

ResNetImpl::ResNetImpl(const ModelSpec& spec, const ResNetLayout& layout) : spec_(spec) {
  if (!spec.mean.empty()) {
    if (static_cast<int64_t>(spec.mean.size()) != spec.in_channels ||
        spec.std.size() != spec.mean.size()) {
      throw std::invalid_argument("normalisation mean/std need one value per input channel");
    }
    norm_mean_ = register_buffer(
        "norm_mean", torch::tensor(spec.mean, torch::kFloat32).view({1, spec.in_channels, 1, 1}));
    norm_std_ = register_buffer(
        "norm_std", torch::tensor(spec.std, torch::kFloat32).view({1, spec.in_channels, 1, 1}));
  }
  LayerFactory make(spec_);
  const int64_t k = spec.model.kernel_size;
  int64_t size = spec.image_size;
  int64_t channels = spec.in_channels;

  if (layout.stem_widths.size() == 1) {
    conv1_ = register_module("conv1", make.Spatial(channels, layout.stem_widths[0], layout.stem_stride, size));
    size = ConvOut(size, k, layout.stem_stride);
    channels = layout.stem_widths[0];
  } else {
    deep_stem_ = torch::nn::Sequential();
    for (size_t i = 0; i < layout.stem_widths.size(); ++i) {
      const int64_t stride = i == 0 ? layout.stem_stride : 1;
      deep_stem_->push_back(make.Spatial(channels, layout.stem_widths[i], stride, size));
      size = ConvOut(size, k, stride);
      channels = layout.stem_widths[i];
      if (i + 1 < layout.stem_widths.size()) {  // the last conv's BN is bn1, as in timm
        deep_stem_->push_back(torch::nn::BatchNorm2d(channels));
        deep_stem_->push_back(torch::nn::ReLU());
      }
    }
    register_module("conv1", deep_stem_);
  }
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(channels));
  if (layout.stem_max_pool) {
    max_pool_ = true;
    size = (size + 2 - 3) / 2 + 1;
    output_sizes_["maxpool"] = size;
  }

  for (size_t s = 0; s < layout.stage_widths.size(); ++s) {
    auto stage = torch::nn::Sequential();
    const std::string stage_name = "layer" + std::to_string(s + 1);
    for (int64_t b = 0; b < layout.stage_blocks[s]; ++b) {
      const int64_t stride = b == 0 ? layout.stage_strides[s] : 1;
      const int64_t width = layout.stage_widths[s];
      LcConv2d c1 = make.Spatial(channels, width, stride, size);
      const int64_t out_size = ConvOut(size, k, stride);
      LcConv2d c2 = make.Spatial(width, width, 1, out_size);
      torch::nn::Sequential ds{nullptr};
      const std::string ds_name = stage_name + "." + std::to_string(b) + ".downsample";
      if (stride != 1 || channels != width) {
        ds = torch::nn::Sequential();
        if (layout.avg_down) {
          if (stride > 1) {
            ds->push_back(torch::nn::AvgPool2d(
                torch::nn::AvgPool2dOptions(2).stride(stride).ceil_mode(true).count_include_pad(false)));
          } else {
            ds->push_back(torch::nn::Identity());
          }
          ds->push_back(make.Shortcut(channels, width, 1));
          output_sizes_[ds_name + ".1"] = out_size;
        } else {
          ds->push_back(make.Shortcut(channels, width, stride));
          output_sizes_[ds_name + ".0"] = out_size;
        }
        ds->push_back(torch::nn::BatchNorm2d(width));
      }
      stage->push_back(BasicBlock(c1, c2, ds));
      channels = width;
      size = out_size;
    }
    stages_.push_back(register_module(stage_name, stage));
  }
  fc_ = register_module("fc", torch::nn::Linear(channels, spec.num_classes));
  {
    torch::NoGradGuard no_grad;
    const double bound = KaimingUniformBound(channels);  // PyTorch's Linear default
    fc_->weight.set_data(UniformTensor({spec.num_classes, channels}, bound,
                                       CounterRng(spec.seed, 0, RngStream::kClassifierWeight)));
    fc_->bias.set_data(UniformTensor({spec.num_classes}, bound,
                                     CounterRng(spec.seed, 0, RngStream::kClassifierBias)));
  }
  output_sizes_["fc"] = 1;
  if (spec.model.conv.sharing != "none") AttachSharedTensors();
  if (spec.dtype != torch::kFloat32) to(spec.dtype);
}

std::vector<std::pair<std::string, LcConv2d>> ResNetImpl::LcLayers() {
  std::vector<std::pair<std::string, LcConv2d>> layers;
  for (const auto& item : named_modules("", /*include_self=*/false)) {
    if (auto lc = std::dynamic_pointer_cast<LcConv2dImpl>(item.value())) {
      layers.emplace_back(item.key(), LcConv2d(lc));
    }
  }
  std::sort(layers.begin(), layers.end(), [](const auto& a, const auto& b) {
    return a.second->options().layer_index < b.second->options().layer_index;
  });
  return layers;
}

void ResNetImpl::AttachSharedTensors() {
  // global: one group; per_stage: one group per output resolution (the stem
  // joins the stage that runs at its resolution).
  const bool per_stage = spec_.model.conv.sharing == "per_stage";
  std::map<int64_t, std::vector<LcConv2d>> groups;  // key: output size (or 0)
  for (auto& [name, layer] : LcLayers()) groups[per_stage ? layer->output_size() : 0].push_back(layer);
  const InitKind init = ParseInitKind(spec_.model.conv.init).value();
  const int64_t k = spec_.model.kernel_size;
  // Order groups by first layer index so group numbers follow the network.
  std::vector<std::vector<LcConv2d>> ordered;
  for (auto& [key, layers] : groups) ordered.push_back(layers);
  std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
    return a.front()->options().layer_index < b.front()->options().layer_index;
  });
  for (size_t g = 0; g < ordered.size(); ++g) {
    int64_t rows = 0, cols = 0;
    for (auto& layer : ordered[g]) {
      const auto& o = layer->options();
      const int64_t e = o.conv.mode == "lc" ? o.conv.lc_rate : 1;
      rows = std::max(rows, o.out_channels * e);
      cols = std::max(cols, o.in_channels);
    }
    // Unit layer scale (fan-in 1): kaiming_uniform gives T ~ U[-1, 1] (docs/method.md section 3).
    torch::Tensor t = register_buffer(
        "shared_spatial_" + std::to_string(g),
        InitTensor(init, {rows, cols, k, k}, 1, CounterRng(spec_.seed, g, RngStream::kShared)));
    for (auto& layer : ordered[g]) layer->AttachShared(t);
  }
}

torch::Tensor ResNetImpl::forward(torch::Tensor x) {
  if (norm_mean_.defined()) x = (x - norm_mean_) / norm_std_;
  x = conv1_ ? conv1_->forward(x) : deep_stem_->forward(x);
  x = torch::relu(bn1_->forward(x));
  if (max_pool_) x = torch::max_pool2d(x, 3, 2, 1);
  for (auto& stage : stages_) x = stage->forward(x);
  x = torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
  return fc_->forward(x);
}

std::vector<SpatialLayerView> ResNetImpl::SpatialLayers() {
  torch::NoGradGuard no_grad;
  std::vector<SpatialLayerView> views;
  for (auto& [name, layer] : LcLayers()) {
    SpatialLayerView v;
    v.name = name;
    v.index = layer->options().layer_index;
    v.spatial = layer->SpatialWeight().detach();
    torch::Tensor p = layer->CombinationWeight();
    if (p.defined()) v.combination = p.detach();
    v.folded = layer->ComposedWeight().detach();
    views.push_back(std::move(v));
  }
  return views;
}

std::vector<std::pair<std::string, torch::Tensor>> ResNetImpl::CheckpointState() {
  // Regenerable buffers (frozen filters, shared T, reduced R, normalisation) stay out.
  std::set<const void*> regenerable;
  for (auto& [name, layer] : LcLayers()) {
    for (const torch::Tensor& t : layer->RegenerableBuffers()) regenerable.insert(t.unsafeGetTensorImpl());
  }
  if (norm_mean_.defined()) {
    regenerable.insert(norm_mean_.unsafeGetTensorImpl());
    regenerable.insert(norm_std_.unsafeGetTensorImpl());
  }
  std::vector<std::pair<std::string, torch::Tensor>> state;
  for (const auto& item : named_parameters()) state.emplace_back(item.key(), item.value());
  for (const auto& item : named_buffers()) {
    if (!regenerable.count(item.value().unsafeGetTensorImpl())) state.emplace_back(item.key(), item.value());
  }
  return state;
}

}  // namespace lcsweep::nn
