// Data placement: where a job's batches are assembled (data.placement).
//
//   host    the loader's threads decode and augment each batch on the CPU
//           (worker/data/loader.h); the trainer copies it to the device.
//   device  the decoded training and test sets are copied to the training
//           device once, and batches are gathered and augmented there
//           (worker/data/device_loader.h). Only for the data sets held in
//           memory (everything but imagenet, which is read from JPEG files).
//   auto    device when training on CUDA with an in-memory set, else host:
//           on the CPU the host loader's threads overlap with training, and
//           a second copy of the set would only cost memory.
// Both placements give bit-identical batches (same order, same augmentation
// draws), so placement is a run setting, not part of a job's identity
// (common/job_identity.h).
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "common/job_config.h"

namespace lcsweep {

enum class DataPlacement { kHost, kDevice };

// True for the data sets read into memory whole (their decoded sets can live
// on a device).
bool IsInMemoryDataSet(const std::string& name);

// data.placement of a validated config (ValidateJobConfig refuses "device"
// with a data set read from files, naming the field) resolved for a job
// trained on a CUDA device (`cuda`) or the CPU.
DataPlacement ResolveDataPlacement(const DataConfig& data, bool cuda);

// Bytes the training and test sets take on the device when placed there
// (device_loader.h's layout: uint8 pixels as stored, or float32 at the
// model's image size when the set is resized on loading; int64 labels), from
// the data set's published sizes and data.train_limit / data.test_limit.
// 0 for data sets that cannot be placed on a device.
int64_t DeviceDataSetBytes(const DataConfig& data);

}  // namespace lcsweep
