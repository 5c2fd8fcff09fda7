#include "common/data_placement.h"

#include <algorithm>

#include "common/dataset_info.h"

namespace lcsweep {

bool IsInMemoryDataSet(const std::string& name) { return name != "imagenet"; }

DataPlacement ResolveDataPlacement(const DataConfig& data, bool cuda) {
  if (data.placement == "host") return DataPlacement::kHost;
  if (data.placement == "device") return DataPlacement::kDevice;
  return cuda && IsInMemoryDataSet(data.name) ? DataPlacement::kDevice : DataPlacement::kHost;  // "auto"
}

int64_t DeviceDataSetBytes(const DataConfig& data) {
  if (!IsInMemoryDataSet(data.name)) return 0;
  StatusOr<DataSetInfo> info = GetDataSetInfo(data);
  if (!info.ok()) return 0;
  auto limited = [](int64_t n, int64_t limit) { return limit > 0 ? std::min(n, limit) : n; };
  const int64_t images = limited(info->train_size, data.train_limit) + limited(info->test_size, data.test_limit);
  const bool resized = info->stored_image_size != info->image_size;
  const int64_t pixel_bytes = resized ? 4 : 1;
  const int64_t side = info->image_size;
  return images * (info->channels * side * side * pixel_bytes + 8);
}

}  // namespace lcsweep
