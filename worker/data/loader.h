// Loader: batches from a Source, assembled by worker threads ahead of use.
//
// Determinism: the epoch order is EpochOrder(n, seed, epoch, shuffle) and
// sample i of the order is transformed with seed MixSeed(seed, epoch, i), so
// batch contents depend only on (seed, epoch, batch index) and never on the
// thread count or timing. The last partial batch is kept.
// Bad samples (DATA_LOSS from Source::Load): with fail_on_bad_image the
// epoch's Next() returns the error; otherwise the sample is left out of its
// batch and counted (bad_images()).
// Thread-safety: one consumer thread calls StartEpoch/Next; the workers are
// internal. Destruction stops and joins them.
#pragma once

#include <torch/torch.h>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/status.h"
#include "worker/data/source.h"

namespace lcsweep::data {

struct LoaderOptions {
  int64_t batch_size = 256;
  bool shuffle = true;
  bool augment = true;
  uint64_t seed = 0;
  int64_t threads = 2;           // 0: batches are built on the caller's thread
  int64_t prefetch_batches = 4;  // ready or in-progress batches ahead of the consumer
  bool fail_on_bad_image = false;
};

struct Batch {
  torch::Tensor images;  // float [B, C, S, S] in [0, 1]
  torch::Tensor labels;  // int64 [B]
  int64_t index = 0;     // batch index within the epoch
};

class Loader {
 public:
  Loader(std::shared_ptr<const Source> source, LoaderOptions options);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  int64_t batches_per_epoch() const;
  int64_t size() const { return source_->size(); }
  // Starts (or restarts) an epoch at batch `first_batch` (resume mid-epoch).
  void StartEpoch(int64_t epoch, int64_t first_batch = 0);
  // The next batch in order, std::nullopt after the last, or a data error.
  StatusOr<std::optional<Batch>> Next();
  int64_t bad_images() const;

 private:
  struct Result {
    Status status;
    Batch batch;
  };
  Result Build(int64_t epoch, int64_t b, const std::vector<int64_t>& order);
  void WorkerLoop();
  void StopWorkers();

  std::shared_ptr<const Source> source_;
  LoaderOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::thread> workers_;
  bool stop_ = false;
  int64_t epoch_ = 0;
  std::vector<int64_t> order_;
  int64_t next_claim_ = 0;    // next batch index a worker may build
  int64_t next_deliver_ = 0;  // next batch index Next() returns
  int64_t end_batch_ = 0;
  std::map<int64_t, Result> ready_;
  int64_t bad_images_ = 0;
};

}  // namespace lcsweep::data
