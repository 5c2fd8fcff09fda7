#include "worker/data/loader.h"

#include <algorithm>

#include "worker/data/rng.h"

namespace lcsweep::data {

Loader::Loader(std::shared_ptr<const Source> source, LoaderOptions options)
    : source_(std::move(source)), options_(options) {
  if (options_.batch_size < 1) options_.batch_size = 1;
  if (options_.prefetch_batches < 1) options_.prefetch_batches = 1;
}

Loader::~Loader() { StopWorkers(); }

int64_t Loader::batches_per_epoch() const {
  return (source_->size() + options_.batch_size - 1) / options_.batch_size;
}

int64_t Loader::bad_images() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bad_images_;
}

void Loader::StopWorkers() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  stop_ = false;
  ready_.clear();
}

void Loader::StartEpoch(int64_t epoch, int64_t first_batch) {
  StopWorkers();
  {
    std::lock_guard<std::mutex> lock(mu_);
    epoch_ = epoch;
    order_ = EpochOrder(source_->size(), options_.seed, epoch, options_.shuffle);
    end_batch_ = batches_per_epoch();
    next_claim_ = next_deliver_ = std::clamp<int64_t>(first_batch, 0, end_batch_);
  }
  for (int64_t i = 0; i < options_.threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

Loader::Result Loader::Build(int64_t epoch, int64_t b, const std::vector<int64_t>& order) {
  const int64_t n = static_cast<int64_t>(order.size());
  const int64_t begin = b * options_.batch_size, end = std::min(n, begin + options_.batch_size);
  const int64_t c = source_->channels(), s = source_->image_size(), per = c * s * s;
  Result r;
  torch::Tensor images = torch::empty({end - begin, c, s, s}, torch::kFloat32);
  torch::Tensor labels = torch::empty({end - begin}, torch::kInt64);
  float* ip = images.data_ptr<float>();
  int64_t* lp = labels.data_ptr<int64_t>();
  int64_t kept = 0, bad = 0;
  for (int64_t i = begin; i < end; ++i) {
    const uint64_t sample_seed = MixSeed(options_.seed, static_cast<uint64_t>(epoch), static_cast<uint64_t>(i), kAugmentSalt);
    Status st = source_->Load(order[i], options_.augment, sample_seed, ip + kept * per, lp + kept);
    if (!st.ok()) {
      if (st.code() == StatusCode::kDataLoss && !options_.fail_on_bad_image) {
        ++bad;
        continue;
      }
      r.status = st;
      return r;
    }
    ++kept;
  }
  if (bad > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    bad_images_ += bad;
  }
  r.batch.images = kept == end - begin ? images : images.slice(0, 0, kept);
  r.batch.labels = kept == end - begin ? labels : labels.slice(0, 0, kept);
  r.batch.index = b;
  return r;
}

void Loader::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [&] {
      return stop_ || (next_claim_ < end_batch_ && next_claim_ < next_deliver_ + options_.prefetch_batches);
    });
    if (stop_) return;
    const int64_t b = next_claim_++;
    const int64_t epoch = epoch_;
    lock.unlock();
    Result r = Build(epoch, b, order_);  // order_ is only replaced while workers are stopped
    lock.lock();
    ready_[b] = std::move(r);
    cv_.notify_all();
  }
}

StatusOr<std::optional<Batch>> Loader::Next() {
  std::unique_lock<std::mutex> lock(mu_);
  if (next_deliver_ >= end_batch_) return std::optional<Batch>();
  Result r;
  if (workers_.empty()) {
    const int64_t b = next_deliver_;
    lock.unlock();
    r = Build(epoch_, b, order_);
    lock.lock();
  } else {
    cv_.wait(lock, [&] { return ready_.count(next_deliver_) > 0; });
    r = std::move(ready_[next_deliver_]);
    ready_.erase(next_deliver_);
  }
  ++next_deliver_;
  cv_.notify_all();
  if (!r.status.ok()) return r.status;
  return std::optional<Batch>(std::move(r.batch));
}

}  // namespace lcsweep::data
