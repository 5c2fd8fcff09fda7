// Reader for NumPy .npy files (format versions 1.0, 2.0 and 3.0), as used by
// the published CIFAR-10-C / CIFAR-100-C release: <corruption>.npy is uint8
// [50000, 32, 32, 3] (severities 1..5 stacked, 10000 test images each) and
// labels.npy is uint8 (or any integer type) [50000].
//
// Only C-order arrays of the integer types |u1 |i1 <u2 <i2 <u4 <i4 <u8 <i8
// (and |b1) are accepted. Rows can be read without loading the whole file.
// Every error names the file, what was expected and what was found.
// Thread-safety: free functions, no shared state.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace lcsweep::eval {

struct NpyHeader {
  int major_version = 0;
  std::string descr;            // e.g. "|u1", "<i8"
  bool fortran_order = false;
  std::vector<int64_t> shape;
  int64_t data_offset = 0;      // bytes from the file start to the first element
  int64_t item_size = 0;
};

StatusOr<NpyHeader> ReadNpyHeader(const std::string& path);

// Rows [start, start + count) along axis 0 as a tensor of the file's shape
// (first dimension count) and dtype (uint8, int8, int16, int32, int64; the
// unsigned 16/32/64-bit types are widened to int64). Checks that the file
// holds all the data its header promises.
StatusOr<torch::Tensor> ReadNpyRows(const std::string& path, int64_t start, int64_t count);

// Writes a C-order uint8, int64 or float32 tensor as .npy version 1.0 (used
// by tests, tools that make small CIFAR-10-C-like fixtures, and
// lcsweep-train logits). Little-endian hosts only, like the reader.
Status WriteNpy(const std::string& path, const torch::Tensor& t);

}  // namespace lcsweep::eval
