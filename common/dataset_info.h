// Static facts about each data set a job can name: image geometry, classes,
// the per-channel normalisation the model applies, and where its files live
// by default. Shared by model building (input channels, classes) and the
// data readers, so the two can never disagree.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/job_config.h"
#include "common/status.h"

namespace lcsweep {

struct DataSetInfo {
  std::string name;
  int64_t channels = 3;
  int64_t classes = 10;
  int64_t image_size = 32;  // side of the square image the model sees
  int64_t stored_image_size = 32;  // side as stored in the files (28 for the MNIST family)
  // Images in the published splits (0 for imagenet, whose size is the folders').
  int64_t train_size = 50000, test_size = 10000;
  std::vector<double> mean;
  std::vector<double> std;
  std::string default_root;  // empty: no default, the job must give data.root
};

// Facts for data.name (synthetic and imagenet take geometry from the config).
// Errors: INVALID_ARGUMENT for an unknown name.
StatusOr<DataSetInfo> GetDataSetInfo(const DataConfig& data);

}  // namespace lcsweep
