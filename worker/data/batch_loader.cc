#include "worker/data/batch_loader.h"

#include "worker/data/device_loader.h"
#include "worker/data/loader.h"

namespace lcsweep::data {

StatusOr<std::unique_ptr<BatchLoader>> MakeBatchLoader(std::shared_ptr<const Source> source,
                                                      const LoaderOptions& options, DataPlacement placement,
                                                      torch::Device device) {
  if (placement == DataPlacement::kHost) return std::unique_ptr<BatchLoader>(new Loader(std::move(source), options));
  LCSWEEP_ASSIGN_OR_RETURN(std::unique_ptr<DeviceLoader> loader,
                           DeviceLoader::Create(std::move(source), options, device));
  return std::unique_ptr<BatchLoader>(std::move(loader));
}

}  // namespace lcsweep::data
