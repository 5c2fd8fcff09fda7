// BatchLoader: the epoch-by-epoch stream of batches the trainer consumes,
// whatever assembles them: the host loader's threads (loader.h) or tensor
// operations on the training device (device_loader.h). data.placement picks
// one (common/data_placement.h); both yield the same batches.
//
// Determinism contract, shared by every implementation: the epoch order is
// EpochOrder(n, seed, epoch, shuffle) (rng.h) and the sample at position i of
// that order is transformed with seed MixSeed(seed, epoch, i, kAugmentSalt),
// so batch contents depend only on (seed, epoch, batch index). The last
// partial batch is kept.
// Thread-safety: one consumer thread calls StartEpoch/Next.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <optional>

#include "common/data_placement.h"
#include "common/status.h"
#include "worker/data/source.h"

namespace lcsweep::data {

// The fourth word of every sample's augmentation seed (see above).
inline constexpr uint64_t kAugmentSalt = 0x61756721ULL;

struct LoaderOptions {
  int64_t batch_size = 256;
  bool shuffle = true;
  bool augment = true;
  uint64_t seed = 0;
  // Host loader only:
  int64_t threads = 2;           // 0: batches are built on the caller's thread
  int64_t prefetch_batches = 4;  // ready or in-progress batches ahead of the consumer
  bool fail_on_bad_image = false;
};

struct Batch {
  torch::Tensor images;  // float [B, C, S, S] in [0, 1], on the loader's device
  torch::Tensor labels;  // int64 [B], on the loader's device
  int64_t index = 0;     // batch index within the epoch
};

class BatchLoader {
 public:
  virtual ~BatchLoader() = default;
  virtual int64_t batches_per_epoch() const = 0;
  virtual int64_t size() const = 0;  // samples in the split
  // Starts (or restarts) an epoch at batch `first_batch` (resume mid-epoch).
  virtual void StartEpoch(int64_t epoch, int64_t first_batch = 0) = 0;
  // The next batch in order, std::nullopt after the last, or a data error.
  virtual StatusOr<std::optional<Batch>> Next() = 0;
  // Samples left out of their batch as undecodable so far.
  virtual int64_t bad_images() const = 0;
};

// The loader for `placement`: a host Loader (batches on the CPU; the caller
// moves them) or a DeviceLoader on `device`. Errors: as DeviceLoader::Create.
StatusOr<std::unique_ptr<BatchLoader>> MakeBatchLoader(std::shared_ptr<const Source> source,
                                                      const LoaderOptions& options, DataPlacement placement,
                                                      torch::Device device);

}  // namespace lcsweep::data
