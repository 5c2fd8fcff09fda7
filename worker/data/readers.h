// Readers for the published on-disk formats of the small image data sets.
// Each returns the whole split in memory as uint8 pixels, untransformed.
//
// Errors name the file, what was expected and what was found:
// NOT_FOUND for a missing file, DATA_LOSS for a wrong magic number, a
// truncated record or a corrupt stream, OUT_OF_RANGE for a label outside
// [0, classes). See worker/data/README.md for the exact layouts.
// Thread-safety: pure functions.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "common/job_config.h"
#include "common/status.h"

namespace lcsweep::data {

// One split of a data set, in memory.
struct TensorDataSet {
  torch::Tensor images;  // uint8 [N, C, H, W]
  torch::Tensor labels;  // int64 [N]
  int64_t classes = 0;
  std::string source;    // where it came from, for logs and results
};

// CIFAR-10 "binary version": data_batch_1..5.bin (train) or test_batch.bin,
// 10000 records of <1 label byte><3072 pixel bytes, R then G then B planes>.
StatusOr<TensorDataSet> ReadCifar10(const std::string& root, bool train);

// CIFAR-100 "binary version": train.bin / test.bin, records of
// <coarse label><fine label><3072 pixel bytes>. `fine` picks the 100-class label.
StatusOr<TensorDataSet> ReadCifar100(const std::string& root, bool train, bool fine = true);

// One idx3 image file and one idx1 label file (plain or .gz).
StatusOr<TensorDataSet> ReadIdxPair(const std::string& images_path, const std::string& labels_path,
                                    int64_t classes);

// MNIST / Fashion-MNIST in a folder: {train,t10k}-{images-idx3,labels-idx1}-ubyte,
// with or without ".gz" (the plain file wins when both exist).
StatusOr<TensorDataSet> ReadMnistFolder(const std::string& root, bool train);

// SVHN format 2 (cropped 32x32 digits) as published: train_32x32.mat /
// test_32x32.mat, MATLAB level-5 files holding X (uint8 32x32x3xN) and
// y (double Nx1, digit 0 stored as label 10). Label 10 becomes 0.
StatusOr<TensorDataSet> ReadSvhnMat(const std::string& path);
StatusOr<TensorDataSet> ReadSvhn(const std::string& root, bool train);

// A learnable synthetic set: each class has a fixed random smooth pattern
// (drawn from `seed`), every image is its class pattern plus Gaussian noise,
// quantised to uint8. Train and test share patterns, not noise.
// Deterministic in (cfg, seed, train) on every platform.
TensorDataSet MakeSynthetic(const SyntheticDataConfig& cfg, int64_t seed, bool train);

// The first `limit` records (limit <= 0 or >= N: all).
TensorDataSet Limit(TensorDataSet set, int64_t limit);

}  // namespace lcsweep::data
