// Loader: batches from a Source, assembled by worker threads ahead of use
// (data.placement "host"). Batches are on the CPU.
//
// Determinism: batch_loader.h's contract; batch contents never depend on the
// thread count or timing.
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
#include "worker/data/batch_loader.h"
#include "worker/data/source.h"

namespace lcsweep::data {

class Loader : public BatchLoader {
 public:
  Loader(std::shared_ptr<const Source> source, LoaderOptions options);
  ~Loader() override;
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  int64_t batches_per_epoch() const override;
  int64_t size() const override { return source_->size(); }
  void StartEpoch(int64_t epoch, int64_t first_batch = 0) override;
  StatusOr<std::optional<Batch>> Next() override;
  int64_t bad_images() const override;

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
