// Source: random access to one split of a data set, producing transformed
// float images. The loader (loader.h) drives Sources from several threads.
//
// Contract: Load() is const and thread-safe, and its output is a pure
// function of (index, augment, sample_seed): that is what makes the loader
// deterministic for any thread count.
#pragma once

#include <torch/torch.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/dataset_info.h"
#include "common/job_config.h"
#include "common/status.h"
#include "worker/data/readers.h"
#include "worker/data/transforms.h"

namespace lcsweep::data {

class Source {
 public:
  virtual ~Source() = default;
  virtual int64_t size() const = 0;
  virtual int64_t channels() const = 0;
  virtual int64_t image_size() const = 0;  // side of the square output image
  virtual int64_t classes() const = 0;
  virtual std::string description() const = 0;
  // Writes sample `index` as float [C, S, S] in [0, 1] to `out` and its label.
  // `augment` selects the training transform. Errors: DATA_LOSS for an
  // undecodable image (the loader skips or fails per data.on_bad_image).
  virtual Status Load(int64_t index, bool augment, uint64_t sample_seed, float* out,
                      int64_t* label) const = 0;
};

// What the training transform of an in-memory set does (docs/method.md section 5).
enum class TensorAugment {
  kNone,         // SVHN, synthetic
  kPadCropFlip,  // CIFAR: zero-pad kPadCropPad, random crop, horizontal flip
};
inline constexpr int64_t kPadCropPad = 4;

// An in-memory split. Images whose side differs from `image_size` are
// resized bilinearly (Fashion-MNIST/MNIST 28 -> 32) in both modes.
class TensorSource : public Source {
 public:
  TensorSource(TensorDataSet set, int64_t image_size, TensorAugment augment);
  int64_t size() const override { return set_.labels.size(0); }
  int64_t channels() const override { return set_.images.size(1); }
  int64_t image_size() const override { return image_size_; }
  int64_t classes() const override { return set_.classes; }
  std::string description() const override { return set_.source; }
  Status Load(int64_t index, bool augment, uint64_t sample_seed, float* out,
              int64_t* label) const override;
  const TensorDataSet& data() const { return set_; }
  TensorAugment augment() const { return augment_; }

 private:
  TensorDataSet set_;
  int64_t image_size_;
  TensorAugment augment_;
};

// ImageNet-style folders: root/<class name>/<image>.{jpg,jpeg,JPEG}; classes
// are the sorted sub-folder names. Decoded with libjpeg-turbo on demand.
// Training transform: random-resized-crop + flip; evaluation: resize the
// shorter side to size/0.875, centre crop.
class JpegFolderSource : public Source {
 public:
  // Errors: NOT_FOUND (no folder / no classes / no images), UNIMPLEMENTED
  // when built without libjpeg-turbo.
  static StatusOr<std::shared_ptr<JpegFolderSource>> Open(const std::string& root, int64_t image_size,
                                                          int64_t limit);
  int64_t size() const override { return static_cast<int64_t>(files_.size()); }
  int64_t channels() const override { return 3; }
  int64_t image_size() const override { return image_size_; }
  int64_t classes() const override { return static_cast<int64_t>(class_names_.size()); }
  std::string description() const override { return root_; }
  Status Load(int64_t index, bool augment, uint64_t sample_seed, float* out,
              int64_t* label) const override;
  const std::vector<std::string>& class_names() const { return class_names_; }
  const std::string& file(int64_t i) const { return files_[i]; }

 private:
  JpegFolderSource() = default;
  std::string root_;
  int64_t image_size_ = 224;
  std::vector<std::string> class_names_;
  std::vector<std::string> files_;
  std::vector<int64_t> labels_;
};

// Decodes a JPEG into interleaved RGB. Errors: DATA_LOSS naming `what`.
struct RgbImage {
  std::vector<uint8_t> pixels;  // [H, W, 3]
  int64_t height = 0, width = 0;
};
StatusOr<RgbImage> DecodeJpeg(const std::string& bytes, const std::string& what);

// Both splits of the job's data set, limits applied.
struct DataSplits {
  DataSetInfo info;
  std::shared_ptr<const Source> train;
  std::shared_ptr<const Source> test;
};
// Opens data.name under data.root (or the data set's default root).
StatusOr<DataSplits> OpenDataSet(const DataConfig& data, int64_t seed);

// Loads every image of `source` untransformed (augment = false) into float
// [N, C, S, S] and int64 [N] tensors; `limit` > 0 takes the first `limit`.
// Undecodable images are skipped. For evaluation sets that fit in memory.
Status Materialize(const Source& source, int64_t limit, torch::Tensor* images, torch::Tensor* labels);

}  // namespace lcsweep::data
