// DeviceLoader: batches gathered and augmented on the training device from a
// copy of the whole split kept there (data.placement "device",
// common/data_placement.h). A ResNet-20 on a GPU trains faster than host
// threads can decode, augment and copy its batches; with the set resident,
// a batch is an index_select plus (for CIFAR) two gathers, and nothing but
// the epoch's order and augmentation draws crosses the bus, once per epoch.
//
// Same batches as the host Loader, bit for bit (batch_loader.h's contract):
// the order is EpochOrder on the host, uploaded; the pad-crop-flip draws are
// DrawPadCropFlip from each position's seed, computed on the host at
// StartEpoch and uploaded; pixels become floats by the same single multiply
// by 1/255; sets resized on loading (MNIST family, 28 -> 32) are resized once
// on the host by the Source itself and kept as float32.
// Layout on the device (DeviceDataSetBytes counts it): uint8 [N, C, H, W] or,
// resized, float32 [N, C, S, S]; int64 labels.
// Only for TensorSource (in-memory) splits; JPEG folders stay on the host.
// Thread-safety: one consumer thread (BatchLoader).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <optional>

#include "common/status.h"
#include "worker/data/batch_loader.h"
#include "worker/data/source.h"

namespace lcsweep::data {

class DeviceLoader : public BatchLoader {
 public:
  // Copies `source`'s split to `device`. Errors: INVALID_ARGUMENT (naming
  // data.placement) when `source` is not an in-memory split. A device without
  // room throws LibTorch's c10::OutOfMemoryError, which the trainer turns into
  // RESOURCE_EXHAUSTED like any other out-of-memory error of the job.
  static StatusOr<std::unique_ptr<DeviceLoader>> Create(std::shared_ptr<const Source> source,
                                                        const LoaderOptions& options, torch::Device device);

  int64_t batches_per_epoch() const override;
  int64_t size() const override { return labels_.size(0); }
  void StartEpoch(int64_t epoch, int64_t first_batch = 0) override;
  StatusOr<std::optional<Batch>> Next() override;
  int64_t bad_images() const override { return 0; }  // in-memory sets have no undecodable images
  // Bytes of the split held on the device (pixels and labels).
  int64_t resident_bytes() const { return pixels_.nbytes() + labels_.nbytes(); }

 private:
  DeviceLoader(LoaderOptions options, torch::Device device) : options_(options), device_(device) {}
  torch::Tensor Augment(const torch::Tensor& pixels, int64_t begin, int64_t end) const;

  LoaderOptions options_;
  torch::Device device_;
  torch::Tensor pixels_;  // uint8 [N, C, H, W], or float32 [N, C, S, S] when resized_
  torch::Tensor labels_;  // int64 [N]
  bool resized_ = false;
  bool pad_crop_flip_ = false;
  // This epoch's order and, with pad_crop_flip_, the draws of every position
  // (int64 [N] offsets into the padded image, bool [N] flips); on the device.
  torch::Tensor order_, row_offset_, col_offset_, flip_;
  int64_t next_batch_ = 0;
};

}  // namespace lcsweep::data
