#include "worker/data/source.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "worker/data/file_io.h"

#ifdef LCSWEEP_HAVE_TURBOJPEG
#include <turbojpeg.h>
#endif

namespace lcsweep::data {

TensorSource::TensorSource(TensorDataSet set, int64_t image_size, TensorAugment augment)
    : set_(std::move(set)), image_size_(image_size), augment_(augment) {
  set_.images = set_.images.contiguous();
  set_.labels = set_.labels.contiguous();
}

Status TensorSource::Load(int64_t index, bool augment, uint64_t sample_seed, float* out,
                          int64_t* label) const {
  const int64_t c = set_.images.size(1), h = set_.images.size(2), w = set_.images.size(3);
  const uint8_t* p = set_.images.data_ptr<uint8_t>() + index * c * h * w;
  const PixelView view = PixelView::Chw(p, c, h, w);
  *label = set_.labels.data_ptr<int64_t>()[index];
  if (h != image_size_ || w != image_size_) {
    ResampleBox(view, 0, 0, static_cast<double>(w), static_cast<double>(h), image_size_, image_size_,
                /*flip=*/false, out);
    return OkStatus();
  }
  if (augment && augment_ == TensorAugment::kPadCropFlip) {
    SplitMix64 rng(sample_seed);
    PadCropFlip(view, kPadCropPad, rng, out);
    return OkStatus();
  }
  ToFloat(view, out);
  return OkStatus();
}

StatusOr<RgbImage> DecodeJpeg(const std::string& bytes, const std::string& what) {
#ifdef LCSWEEP_HAVE_TURBOJPEG
  tjhandle tj = tjInitDecompress();
  if (tj == nullptr) return InternalError("tjInitDecompress failed");
  int width = 0, height = 0, subsamp = 0, colorspace = 0;
  auto* src = reinterpret_cast<unsigned char*>(const_cast<char*>(bytes.data()));
  const auto size = static_cast<unsigned long>(bytes.size());
  if (tjDecompressHeader3(tj, src, size, &width, &height, &subsamp, &colorspace) != 0) {
    std::string msg = tjGetErrorStr2(tj);
    tjDestroy(tj);
    return DataLossError(what + ": expected a JPEG image, found undecodable data (" + msg + ")");
  }
  RgbImage img;
  img.width = width;
  img.height = height;
  img.pixels.resize(static_cast<size_t>(width) * height * 3);
  const int rc = tjDecompress2(tj, src, size, img.pixels.data(), width, 0, height, TJPF_RGB, TJFLAG_ACCURATEDCT);
  // libjpeg-turbo reports truncated data as a warning (rc != 0 with
  // TJERR_WARNING) and pads with grey; either way the image is not usable.
  if (rc != 0) {
    std::string msg = tjGetErrorStr2(tj);
    tjDestroy(tj);
    return DataLossError(what + ": corrupt JPEG data (" + msg + ")");
  }
  tjDestroy(tj);
  return img;
#else
  (void)bytes;
  return UnimplementedError(what + ": built without libjpeg-turbo (turbojpeg); JPEG folders unavailable");
#endif
}

namespace {

bool IsDir(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') names.emplace_back(e->d_name);
    }
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool IsJpegName(const std::string& n) {
  auto lower = n;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  auto ends = [&](const std::string& s) {
    return lower.size() >= s.size() && lower.compare(lower.size() - s.size(), s.size(), s) == 0;
  };
  return ends(".jpg") || ends(".jpeg");
}

}  // namespace

StatusOr<std::shared_ptr<JpegFolderSource>> JpegFolderSource::Open(const std::string& root,
                                                                   int64_t image_size, int64_t limit) {
#ifndef LCSWEEP_HAVE_TURBOJPEG
  return UnimplementedError(root + ": built without libjpeg-turbo (turbojpeg); JPEG folders unavailable");
#endif
  if (!IsDir(root)) {
    return NotFoundError(root + ": expected a folder with one sub-folder of JPEG files per class, found no folder");
  }
  std::shared_ptr<JpegFolderSource> s(new JpegFolderSource());
  s->root_ = root;
  s->image_size_ = image_size;
  for (const auto& name : ListDir(root)) {
    const std::string dir = root + "/" + name;
    if (!IsDir(dir)) continue;
    const int64_t label = static_cast<int64_t>(s->class_names_.size());
    s->class_names_.push_back(name);
    for (const auto& f : ListDir(dir)) {
      if (!IsJpegName(f)) continue;
      s->files_.push_back(dir + "/" + f);
      s->labels_.push_back(label);
    }
  }
  if (s->class_names_.empty()) {
    return NotFoundError(root + ": expected one sub-folder per class, found none");
  }
  if (s->files_.empty()) {
    return NotFoundError(root + ": expected .jpg/.jpeg files in the class folders, found none");
  }
  if (limit > 0 && limit < static_cast<int64_t>(s->files_.size())) {
    s->files_.resize(static_cast<size_t>(limit));
    s->labels_.resize(static_cast<size_t>(limit));
  }
  return s;
}

Status JpegFolderSource::Load(int64_t index, bool augment, uint64_t sample_seed, float* out,
                              int64_t* label) const {
  const std::string& path = files_[index];
  *label = labels_[index];
  LCSWEEP_ASSIGN_OR_RETURN(std::string bytes, ReadFileBytes(path));
  LCSWEEP_ASSIGN_OR_RETURN(RgbImage img, DecodeJpeg(bytes, path));
  const PixelView view = PixelView::Hwc(img.pixels.data(), 3, img.height, img.width);
  if (augment) {
    SplitMix64 rng(sample_seed);
    const CropBox b = RandomResizedCropBox(img.height, img.width, rng);
    const bool flip = rng.Below(2) == 1;
    ResampleBox(view, b.x0, b.y0, b.w, b.h, image_size_, image_size_, flip, out);
  } else {
    const CropBox b = CenterCropBox(img.height, img.width, image_size_);
    ResampleBox(view, b.x0, b.y0, b.w, b.h, image_size_, image_size_, false, out);
  }
  return OkStatus();
}

StatusOr<DataSplits> OpenDataSet(const DataConfig& data, int64_t seed) {
  DataSplits splits;
  LCSWEEP_ASSIGN_OR_RETURN(splits.info, GetDataSetInfo(data));
  std::string root = data.root.empty() ? splits.info.default_root : data.root;
  if (root.empty() && data.name != "synthetic") {
    return InvalidArgumentError("data.root: data set '" + data.name + "' has no default location; set data.root");
  }
  const int64_t size = splits.info.image_size;
  auto tensor_pair = [&](StatusOr<TensorDataSet> tr, StatusOr<TensorDataSet> te,
                         TensorAugment aug) -> Status {
    if (!tr.ok()) return tr.status();
    if (!te.ok()) return te.status();
    splits.train = std::make_shared<TensorSource>(Limit(std::move(tr).value(), data.train_limit), size,
                                                  data.augment ? aug : TensorAugment::kNone);
    splits.test = std::make_shared<TensorSource>(Limit(std::move(te).value(), data.test_limit), size,
                                                 TensorAugment::kNone);
    return OkStatus();
  };
  if (data.name == "cifar10") {
    LCSWEEP_RETURN_IF_ERROR(tensor_pair(ReadCifar10(root, true), ReadCifar10(root, false), TensorAugment::kPadCropFlip));
  } else if (data.name == "cifar100") {
    LCSWEEP_RETURN_IF_ERROR(tensor_pair(ReadCifar100(root, true), ReadCifar100(root, false), TensorAugment::kPadCropFlip));
  } else if (data.name == "fashion_mnist" || data.name == "mnist") {
    LCSWEEP_RETURN_IF_ERROR(tensor_pair(ReadMnistFolder(root, true), ReadMnistFolder(root, false), TensorAugment::kNone));
  } else if (data.name == "svhn") {
    LCSWEEP_RETURN_IF_ERROR(tensor_pair(ReadSvhn(root, true), ReadSvhn(root, false), TensorAugment::kNone));
  } else if (data.name == "synthetic") {
    LCSWEEP_RETURN_IF_ERROR(tensor_pair(MakeSynthetic(data.synthetic, seed, true),
                                        MakeSynthetic(data.synthetic, seed, false), TensorAugment::kNone));
  } else if (data.name == "imagenet") {
    LCSWEEP_ASSIGN_OR_RETURN(auto train, JpegFolderSource::Open(root + "/train", size, data.train_limit));
    LCSWEEP_ASSIGN_OR_RETURN(auto test, JpegFolderSource::Open(root + "/val", size, data.test_limit));
    if (train->class_names() != test->class_names()) {
      return DataLossError(root + ": train/ and val/ have different class folders");
    }
    splits.info.classes = train->classes();
    splits.train = train;
    splits.test = test;
  } else {
    return InvalidArgumentError("data.name: unknown data set '" + data.name + "'");
  }
  if (splits.train->classes() != splits.info.classes && data.name != "imagenet") {
    return InternalError("class count mismatch for " + data.name);
  }
  return splits;
}

Status Materialize(const Source& source, int64_t limit, torch::Tensor* images, torch::Tensor* labels) {
  int64_t n = source.size();
  if (limit > 0) n = std::min(n, limit);
  const int64_t c = source.channels(), s = source.image_size();
  torch::Tensor im = torch::empty({n, c, s, s}, torch::kFloat32);
  torch::Tensor lb = torch::empty({n}, torch::kInt64);
  int64_t kept = 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t label = 0;
    Status st = source.Load(i, /*augment=*/false, 0, im.data_ptr<float>() + kept * c * s * s, &label);
    if (st.code() == StatusCode::kDataLoss) continue;
    LCSWEEP_RETURN_IF_ERROR(st);
    lb.data_ptr<int64_t>()[kept++] = label;
  }
  *images = im.slice(0, 0, kept);
  *labels = lb.slice(0, 0, kept);
  return OkStatus();
}

}  // namespace lcsweep::data
