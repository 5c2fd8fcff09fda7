#include "worker/data/readers.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "worker/data/file_io.h"
#include "worker/data/rng.h"

namespace lcsweep::data {
namespace {

std::string JoinPath(const std::string& root, const std::string& name) {
  if (root.empty()) return name;
  return root.back() == '/' ? root + name : root + "/" + name;
}

Status LabelRangeError(const std::string& file, int64_t record, int64_t label, int64_t classes) {
  return OutOfRangeError(file + ": record " + std::to_string(record) + " has label " +
                         std::to_string(label) + ", expected 0.." + std::to_string(classes - 1));
}

// Parses fixed-size CIFAR records from `bytes` into the output at `offset`.
Status ParseCifarRecords(const std::string& file, const std::string& bytes, int label_bytes,
                         int label_index, int64_t classes, int64_t expected_records,
                         std::vector<uint8_t>* pixels, std::vector<int64_t>* labels) {
  constexpr int64_t kPixels = 3 * 32 * 32;
  const int64_t record = label_bytes + kPixels;
  const int64_t size = static_cast<int64_t>(bytes.size());
  if (size % record != 0 || (expected_records > 0 && size != expected_records * record)) {
    return DataLossError(file + ": expected " +
                         (expected_records > 0 ? std::to_string(expected_records) + " records of "
                                               : std::string("whole records of ")) +
                         std::to_string(record) + " bytes (" +
                         (expected_records > 0 ? std::to_string(expected_records * record)
                                               : std::string("a multiple of ") + std::to_string(record)) +
                         " bytes), found " + std::to_string(size) + " bytes: truncated or not a CIFAR binary file");
  }
  const int64_t n = size / record;
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* r = p + i * record;
    const int64_t label = r[label_index];
    if (label >= classes) return LabelRangeError(file, i, label, classes);
    labels->push_back(label);
    pixels->insert(pixels->end(), r + label_bytes, r + record);
  }
  return OkStatus();
}

TensorDataSet FromVectors(std::vector<uint8_t>&& pixels, std::vector<int64_t>&& labels, int64_t c,
                          int64_t h, int64_t w, int64_t classes, std::string source) {
  const int64_t n = static_cast<int64_t>(labels.size());
  TensorDataSet set;
  set.images = torch::empty({n, c, h, w}, torch::kUInt8);
  std::memcpy(set.images.data_ptr<uint8_t>(), pixels.data(), pixels.size());
  set.labels = torch::empty({n}, torch::kInt64);
  std::memcpy(set.labels.data_ptr<int64_t>(), labels.data(), labels.size() * sizeof(int64_t));
  set.classes = classes;
  set.source = std::move(source);
  return set;
}

}  // namespace

StatusOr<TensorDataSet> ReadCifar10(const std::string& root, bool train) {
  std::vector<std::string> files;
  if (train) {
    for (int i = 1; i <= 5; ++i) files.push_back(JoinPath(root, "data_batch_" + std::to_string(i) + ".bin"));
  } else {
    files.push_back(JoinPath(root, "test_batch.bin"));
  }
  std::vector<uint8_t> pixels;
  std::vector<int64_t> labels;
  for (const auto& f : files) {
    LCSWEEP_ASSIGN_OR_RETURN(std::string bytes, ReadFileBytes(f));
    LCSWEEP_RETURN_IF_ERROR(ParseCifarRecords(f, bytes, 1, 0, 10, /*expected_records=*/10000, &pixels, &labels));
  }
  return FromVectors(std::move(pixels), std::move(labels), 3, 32, 32, 10, JoinPath(root, train ? "data_batch_*.bin" : "test_batch.bin"));
}

StatusOr<TensorDataSet> ReadCifar100(const std::string& root, bool train, bool fine) {
  const std::string f = JoinPath(root, train ? "train.bin" : "test.bin");
  LCSWEEP_ASSIGN_OR_RETURN(std::string bytes, ReadFileBytes(f));
  std::vector<uint8_t> pixels;
  std::vector<int64_t> labels;
  const int64_t classes = fine ? 100 : 20;
  LCSWEEP_RETURN_IF_ERROR(ParseCifarRecords(f, bytes, 2, fine ? 1 : 0, classes,
                                            /*expected_records=*/0, &pixels, &labels));
  if (labels.empty()) return DataLossError(f + ": expected CIFAR-100 records, found an empty file");
  return FromVectors(std::move(pixels), std::move(labels), 3, 32, 32, classes, f);
}

StatusOr<TensorDataSet> ReadIdxPair(const std::string& images_path, const std::string& labels_path,
                                    int64_t classes) {
  LCSWEEP_ASSIGN_OR_RETURN(std::string ib, ReadFileBytes(images_path));
  LCSWEEP_ASSIGN_OR_RETURN(std::string lb, ReadFileBytes(labels_path));
  const auto* ip = reinterpret_cast<const unsigned char*>(ib.data());
  const auto* lp = reinterpret_cast<const unsigned char*>(lb.data());
  auto hex = [](uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "0x%08X", v);
    return std::string(buf);
  };
  if (ib.size() < 16) {
    return DataLossError(images_path + ": expected an idx3 header of 16 bytes, found " +
                         std::to_string(ib.size()) + " bytes");
  }
  if (lb.size() < 8) {
    return DataLossError(labels_path + ": expected an idx1 header of 8 bytes, found " +
                         std::to_string(lb.size()) + " bytes");
  }
  const uint32_t imagic = ReadBigEndian32(ip);
  if (imagic != 0x00000803) {
    return DataLossError(images_path + ": wrong magic number: expected 0x00000803 (idx3, uint8), found " + hex(imagic));
  }
  const uint32_t lmagic = ReadBigEndian32(lp);
  if (lmagic != 0x00000801) {
    return DataLossError(labels_path + ": wrong magic number: expected 0x00000801 (idx1, uint8), found " + hex(lmagic));
  }
  const int64_t n = ReadBigEndian32(ip + 4), h = ReadBigEndian32(ip + 8), w = ReadBigEndian32(ip + 12);
  const int64_t nl = ReadBigEndian32(lp + 4);
  if (n != nl) {
    return DataLossError(images_path + " has " + std::to_string(n) + " images but " + labels_path +
                         " has " + std::to_string(nl) + " labels; expected equal counts");
  }
  const int64_t want_i = 16 + n * h * w, want_l = 8 + n;
  if (static_cast<int64_t>(ib.size()) != want_i) {
    return DataLossError(images_path + ": expected " + std::to_string(want_i) + " bytes for " +
                         std::to_string(n) + " images of " + std::to_string(h) + "x" + std::to_string(w) +
                         ", found " + std::to_string(ib.size()) + (static_cast<int64_t>(ib.size()) < want_i ? " (truncated)" : ""));
  }
  if (static_cast<int64_t>(lb.size()) != want_l) {
    return DataLossError(labels_path + ": expected " + std::to_string(want_l) + " bytes for " +
                         std::to_string(n) + " labels, found " + std::to_string(lb.size()) +
                         (static_cast<int64_t>(lb.size()) < want_l ? " (truncated)" : ""));
  }
  std::vector<int64_t> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    labels[i] = lp[8 + i];
    if (labels[i] >= classes) return LabelRangeError(labels_path, i, labels[i], classes);
  }
  std::vector<uint8_t> pixels(ip + 16, ip + want_i);
  return FromVectors(std::move(pixels), std::move(labels), 1, h, w, classes, images_path);
}

StatusOr<TensorDataSet> ReadMnistFolder(const std::string& root, bool train) {
  const std::string prefix = train ? "train" : "t10k";
  auto pick = [&](const std::string& base) {
    const std::string plain = JoinPath(root, base);
    if (FileExists(plain)) return plain;
    return plain + ".gz";  // if neither exists, the reader reports this name
  };
  return ReadIdxPair(pick(prefix + "-images-idx3-ubyte"), pick(prefix + "-labels-idx1-ubyte"), 10);
}

// ---- MATLAB level-5 MAT files (the subset SVHN needs) ----
namespace {

enum MatType : uint32_t {
  kMiInt8 = 1, kMiUint8 = 2, kMiInt16 = 3, kMiUint16 = 4, kMiInt32 = 5, kMiUint32 = 6,
  kMiSingle = 7, kMiDouble = 9, kMiInt64 = 12, kMiUint64 = 13, kMiMatrix = 14, kMiCompressed = 15,
};

struct MatArray {
  std::string name;
  std::vector<int64_t> dims;
  uint32_t type = 0;      // storage type of the real part
  std::string data;       // raw real-part bytes (little-endian)
};

int64_t MatTypeSize(uint32_t t) {
  switch (t) {
    case kMiInt8: case kMiUint8: return 1;
    case kMiInt16: case kMiUint16: return 2;
    case kMiInt32: case kMiUint32: case kMiSingle: return 4;
    case kMiDouble: case kMiInt64: case kMiUint64: return 8;
    default: return 0;
  }
}

uint32_t Le32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Reads one data element's tag at `pos` (handles the small-element format).
// On success sets type, payload view and advances pos past the padded element.
Status ReadElement(const std::string& file, const std::string& buf, size_t* pos, uint32_t* type,
                   std::string_view* payload) {
  if (*pos + 8 > buf.size()) {
    return DataLossError(file + ": truncated MAT data element at byte " + std::to_string(*pos));
  }
  const uint32_t w0 = Le32(buf.data() + *pos);
  if ((w0 >> 16) != 0) {  // small data element: size in the upper half, data in the next 4 bytes
    *type = w0 & 0xFFFF;
    const uint32_t n = w0 >> 16;
    if (n > 4) return DataLossError(file + ": malformed small MAT element at byte " + std::to_string(*pos));
    *payload = std::string_view(buf.data() + *pos + 4, n);
    *pos += 8;
    return OkStatus();
  }
  *type = w0;
  const uint64_t n = Le32(buf.data() + *pos + 4);
  if (*pos + 8 + n > buf.size()) {
    return DataLossError(file + ": truncated MAT element at byte " + std::to_string(*pos) + ": expected " +
                         std::to_string(n) + " bytes of data, found " + std::to_string(buf.size() - *pos - 8));
  }
  *payload = std::string_view(buf.data() + *pos + 8, n);
  // Compressed elements are not padded; the others are padded to 8 bytes.
  *pos += 8 + (*type == kMiCompressed ? n : (n + 7) / 8 * 8);
  return OkStatus();
}

Status ParseMatrix(const std::string& file, const std::string& m, MatArray* out) {
  size_t pos = 0;
  uint32_t type;
  std::string_view p;
  LCSWEEP_RETURN_IF_ERROR(ReadElement(file, m, &pos, &type, &p));  // array flags
  if (type != kMiUint32 || p.size() != 8) return DataLossError(file + ": malformed MAT array flags");
  const uint32_t flags = Le32(p.data());
  if (flags & 0x0800) return DataLossError(file + ": complex MAT arrays are not supported");
  LCSWEEP_RETURN_IF_ERROR(ReadElement(file, m, &pos, &type, &p));  // dimensions
  if (type != kMiInt32 || p.size() % 4 != 0) return DataLossError(file + ": malformed MAT dimensions");
  for (size_t i = 0; i < p.size(); i += 4) out->dims.push_back(static_cast<int32_t>(Le32(p.data() + i)));
  LCSWEEP_RETURN_IF_ERROR(ReadElement(file, m, &pos, &type, &p));  // name
  out->name = std::string(p);
  LCSWEEP_RETURN_IF_ERROR(ReadElement(file, m, &pos, &type, &p));  // real part
  if (MatTypeSize(type) == 0) {
    return DataLossError(file + ": MAT array '" + out->name + "' has unsupported data type " + std::to_string(type));
  }
  out->type = type;
  out->data = std::string(p);
  return OkStatus();
}

double MatValue(const MatArray& a, int64_t i) {
  const char* p = a.data.data() + i * MatTypeSize(a.type);
  switch (a.type) {
    case kMiInt8: return static_cast<int8_t>(*p);
    case kMiUint8: return static_cast<uint8_t>(*p);
    case kMiInt16: { int16_t v; std::memcpy(&v, p, 2); return v; }
    case kMiUint16: { uint16_t v; std::memcpy(&v, p, 2); return v; }
    case kMiInt32: { int32_t v; std::memcpy(&v, p, 4); return v; }
    case kMiUint32: { uint32_t v; std::memcpy(&v, p, 4); return v; }
    case kMiSingle: { float v; std::memcpy(&v, p, 4); return v; }
    case kMiDouble: { double v; std::memcpy(&v, p, 8); return v; }
    case kMiInt64: { int64_t v; std::memcpy(&v, p, 8); return static_cast<double>(v); }
    case kMiUint64: { uint64_t v; std::memcpy(&v, p, 8); return static_cast<double>(v); }
  }
  return 0;
}

}  // namespace

StatusOr<TensorDataSet> ReadSvhnMat(const std::string& path) {
  LCSWEEP_ASSIGN_OR_RETURN(std::string buf, ReadFileBytes(path));
  if (buf.size() < 128) {
    return DataLossError(path + ": expected a 128-byte MAT-file header, found " + std::to_string(buf.size()) + " bytes");
  }
  if (buf.compare(0, 6, "MATLAB") != 0 || buf[126] != 'I' || buf[127] != 'M') {
    return DataLossError(path + ": not a little-endian MATLAB level-5 MAT-file (expected 'MATLAB' text and "
                         "endian indicator 'IM'; v7.3/HDF5 files must be re-saved with -v7)");
  }
  std::vector<MatArray> arrays;
  size_t pos = 128;
  while (pos < buf.size()) {
    uint32_t type;
    std::string_view payload;
    LCSWEEP_RETURN_IF_ERROR(ReadElement(path, buf, &pos, &type, &payload));
    std::string matrix;
    if (type == kMiCompressed) {
      LCSWEEP_ASSIGN_OR_RETURN(std::string inflated, InflateZlib(std::string(payload), path));
      size_t ipos = 0;
      std::string_view inner;
      LCSWEEP_RETURN_IF_ERROR(ReadElement(path, inflated, &ipos, &type, &inner));
      matrix = std::string(inner);
    } else {
      matrix = std::string(payload);
    }
    if (type != kMiMatrix) continue;  // other element kinds are not variables
    MatArray a;
    LCSWEEP_RETURN_IF_ERROR(ParseMatrix(path, matrix, &a));
    arrays.push_back(std::move(a));
  }
  const MatArray* x = nullptr;
  const MatArray* y = nullptr;
  for (const auto& a : arrays) {
    if (a.name == "X") x = &a;
    if (a.name == "y") y = &a;
  }
  if (x == nullptr || y == nullptr) {
    return DataLossError(path + ": expected variables 'X' and 'y' (SVHN format 2), found " +
                         std::to_string(arrays.size()) + " variables without them");
  }
  if (x->dims.size() != 4 || x->dims[0] != 32 || x->dims[1] != 32 || x->dims[2] != 3 || x->type != kMiUint8) {
    return DataLossError(path + ": expected X as uint8 32x32x3xN");
  }
  const int64_t n = x->dims[3];
  int64_t ny = 1;
  for (int64_t d : y->dims) ny *= d;
  if (ny != n) {
    return DataLossError(path + ": X has " + std::to_string(n) + " images but y has " + std::to_string(ny) + " labels");
  }
  if (static_cast<int64_t>(x->data.size()) != n * 3072 ||
      static_cast<int64_t>(y->data.size()) != n * MatTypeSize(y->type)) {
    return DataLossError(path + ": truncated array data (expected " + std::to_string(n * 3072) +
                         " bytes for X, found " + std::to_string(x->data.size()) + ")");
  }
  std::vector<int64_t> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const double v = MatValue(*y, i);
    if (v != std::floor(v) || v < 0 || v > 10) return LabelRangeError(path, i, static_cast<int64_t>(v), 11);
    labels[i] = v == 10 ? 0 : static_cast<int64_t>(v);  // SVHN stores digit 0 as 10
  }
  // MATLAB is column-major: X(h, w, c, n) at h + 32*(w + 32*(c + 3*n)), so the
  // raw bytes are a C-order [N, C, W, H] array.
  torch::Tensor raw = torch::empty({n, 3, 32, 32}, torch::kUInt8);
  std::memcpy(raw.data_ptr<uint8_t>(), x->data.data(), x->data.size());
  TensorDataSet set;
  set.images = raw.transpose(2, 3).contiguous();
  set.labels = torch::from_blob(labels.data(), {n}, torch::kInt64).clone();
  set.classes = 10;
  set.source = path;
  return set;
}

StatusOr<TensorDataSet> ReadSvhn(const std::string& root, bool train) {
  return ReadSvhnMat(JoinPath(root, train ? "train_32x32.mat" : "test_32x32.mat"));
}

TensorDataSet MakeSynthetic(const SyntheticDataConfig& cfg, int64_t seed, bool train) {
  const int64_t n = train ? cfg.train_size : cfg.test_size;
  const int64_t c = cfg.channels, s = cfg.image_size, k = cfg.classes;
  // Class patterns: a sum of a few low-frequency waves per channel, amplitude ~0.3.
  std::vector<float> patterns(static_cast<size_t>(k * c * s * s));
  SplitMix64 pg(MixSeed(static_cast<uint64_t>(seed), 0x7061747465726EULL /*"pattern"*/));
  for (int64_t cls = 0; cls < k; ++cls) {
    for (int64_t ch = 0; ch < c; ++ch) {
      float* p = &patterns[static_cast<size_t>((cls * c + ch) * s * s)];
      for (int wave = 0; wave < 3; ++wave) {
        const double fx = 1 + pg.Below(3), fy = 1 + pg.Below(3);
        const double phx = pg.Uniform() * 2 * M_PI, phy = pg.Uniform() * 2 * M_PI;
        const double amp = 0.1 + 0.1 * pg.Uniform();
        for (int64_t y = 0; y < s; ++y)
          for (int64_t x = 0; x < s; ++x)
            p[y * s + x] += static_cast<float>(amp * std::sin(2 * M_PI * fx * x / s + phx) *
                                               std::cos(2 * M_PI * fy * y / s + phy));
      }
    }
  }
  std::vector<uint8_t> pixels(static_cast<size_t>(n * c * s * s));
  std::vector<int64_t> labels(static_cast<size_t>(n));
  SplitMix64 g(MixSeed(static_cast<uint64_t>(seed), train ? 0x747261696EULL : 0x74657374ULL));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t cls = static_cast<int64_t>(g.Below(static_cast<uint64_t>(k)));
    labels[i] = cls;
    const float* p = &patterns[static_cast<size_t>(cls * c * s * s)];
    uint8_t* out = &pixels[static_cast<size_t>(i * c * s * s)];
    for (int64_t j = 0; j < c * s * s; ++j) {
      const double v = 0.5 + p[j] + cfg.noise * 0.25 * g.Normal();
      out[j] = static_cast<uint8_t>(std::lround(std::clamp(v, 0.0, 1.0) * 255.0));
    }
  }
  return FromVectors(std::move(pixels), std::move(labels), c, s, s, k,
                     "synthetic(seed=" + std::to_string(seed) + (train ? ",train)" : ",test)"));
}

TensorDataSet Limit(TensorDataSet set, int64_t limit) {
  const int64_t n = set.labels.size(0);
  if (limit > 0 && limit < n) {
    set.images = set.images.slice(0, 0, limit).contiguous();
    set.labels = set.labels.slice(0, 0, limit).contiguous();
  }
  return set;
}

}  // namespace lcsweep::data
