#include "worker/data/device_loader.h"

#include <algorithm>
#include <vector>

#include "worker/data/rng.h"
#include "worker/data/transforms.h"

namespace lcsweep::data {
namespace {

// The multiply ToFloat and PadCropFlip use, so the floats are the same bits.
constexpr float kInv255 = 1.0f / 255.0f;

}  // namespace

StatusOr<std::unique_ptr<DeviceLoader>> DeviceLoader::Create(std::shared_ptr<const Source> source,
                                                             const LoaderOptions& options, torch::Device device) {
  const auto* tensors = dynamic_cast<const TensorSource*>(source.get());
  if (tensors == nullptr) {
    return InvalidArgumentError("data.placement: \"device\" needs a data set held in memory, and " +
                                source->description() + " is read from image files; use \"host\" or \"auto\"");
  }
  std::unique_ptr<DeviceLoader> loader(new DeviceLoader(options, device));
  if (loader->options_.batch_size < 1) loader->options_.batch_size = 1;
  const TensorDataSet& set = tensors->data();
  if (set.images.size(2) != tensors->image_size() || set.images.size(3) != tensors->image_size()) {
    // The Source's resize is not augmented, so its output is the image for every epoch.
    torch::Tensor images, labels;
    LCSWEEP_RETURN_IF_ERROR(Materialize(*tensors, 0, &images, &labels));
    loader->pixels_ = images.to(device);
    loader->labels_ = labels.to(device);
    loader->resized_ = true;
  } else {
    loader->pixels_ = set.images.to(device);
    loader->labels_ = set.labels.to(device);
    loader->pad_crop_flip_ = options.augment && tensors->augment() == TensorAugment::kPadCropFlip;
  }
  return loader;
}

int64_t DeviceLoader::batches_per_epoch() const {
  return (size() + options_.batch_size - 1) / options_.batch_size;
}

void DeviceLoader::StartEpoch(int64_t epoch, int64_t first_batch) {
  const int64_t n = size();
  const std::vector<int64_t> order = EpochOrder(n, options_.seed, epoch, options_.shuffle);
  order_ = torch::tensor(order, torch::kInt64).to(device_);
  if (pad_crop_flip_) {
    torch::Tensor rows = torch::empty({n}, torch::kInt64), cols = torch::empty({n}, torch::kInt64);
    torch::Tensor flips = torch::empty({n}, torch::kBool);
    int64_t* rp = rows.data_ptr<int64_t>();
    int64_t* cp = cols.data_ptr<int64_t>();
    bool* fp = flips.data_ptr<bool>();
    for (int64_t i = 0; i < n; ++i) {
      SplitMix64 rng(MixSeed(options_.seed, static_cast<uint64_t>(epoch), static_cast<uint64_t>(i), kAugmentSalt));
      const PadCropDraw d = DrawPadCropFlip(kPadCropPad, rng);
      rp[i] = d.dy + kPadCropPad;  // offsets into the zero-padded image
      cp[i] = d.dx + kPadCropPad;
      fp[i] = d.flip;
    }
    row_offset_ = rows.to(device_);
    col_offset_ = cols.to(device_);
    flip_ = flips.to(device_);
  }
  next_batch_ = std::clamp<int64_t>(first_batch, 0, batches_per_epoch());
}

torch::Tensor DeviceLoader::Augment(const torch::Tensor& pixels, int64_t begin, int64_t end) const {
  const int64_t b = pixels.size(0), c = pixels.size(1), h = pixels.size(2), w = pixels.size(3);
  const int64_t p = kPadCropPad;
  const torch::Tensor padded = torch::constant_pad_nd(pixels, {p, p, p, p}, 0);
  const auto index_options = torch::TensorOptions().dtype(torch::kInt64).device(device_);
  // Output (y, x) reads padded (y + dy + p, (flip ? w - 1 - x : x) + dx + p).
  const torch::Tensor ys = torch::arange(h, index_options).unsqueeze(0);
  const torch::Tensor xs = torch::arange(w, index_options).unsqueeze(0);
  const torch::Tensor rows = ys + row_offset_.slice(0, begin, end).unsqueeze(1);  // [B, H]
  const torch::Tensor mirrored = torch::where(flip_.slice(0, begin, end).unsqueeze(1), (w - 1) - xs, xs);
  const torch::Tensor cols = mirrored + col_offset_.slice(0, begin, end).unsqueeze(1);  // [B, W]
  const torch::Tensor picked_rows = padded.gather(2, rows.view({b, 1, h, 1}).expand({b, c, h, w + 2 * p}));
  return picked_rows.gather(3, cols.view({b, 1, 1, w}).expand({b, c, h, w}));
}

StatusOr<std::optional<Batch>> DeviceLoader::Next() {
  if (next_batch_ >= batches_per_epoch()) return std::optional<Batch>();
  const int64_t begin = next_batch_ * options_.batch_size;
  const int64_t end = std::min(size(), begin + options_.batch_size);
  const torch::Tensor index = order_.slice(0, begin, end);
  Batch batch;
  batch.index = next_batch_++;
  batch.labels = labels_.index_select(0, index);
  torch::Tensor pixels = pixels_.index_select(0, index);
  if (resized_) {
    batch.images = pixels;
  } else {
    if (pad_crop_flip_) pixels = Augment(pixels, begin, end);
    batch.images = pixels.to(torch::kFloat32).mul_(static_cast<double>(kInv255));
  }
  return std::optional<Batch>(std::move(batch));
}

}  // namespace lcsweep::data
