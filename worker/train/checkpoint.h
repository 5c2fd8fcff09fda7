// Checkpoints of a running job: the learned tensors and BatchNorm statistics
// (NetworkImpl::CheckpointState(); frozen filters are regenerated from the
// seed when the model is rebuilt, never stored), the optimizer state
// (momentum buffers), the LibTorch CPU generator state, and the TrainState
// (position, running epoch sums, history so far) as JSON.
//
// Written atomically: to PATH.tmp, then rename(2) over PATH, so a reader (or
// a crash) never sees a half-written file.
// Thread-safety: functions use the model/optimizer; callers serialise.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "worker/nn/network.h"

namespace lcsweep::train {

// Where training stands; everything a resume needs besides tensors.
struct TrainState {
  int64_t epoch = 0;          // epoch in progress (== epochs when done)
  int64_t batch = 0;          // next batch index within `epoch`
  int64_t step = 0;           // global optimizer steps done
  // Running sums of the current epoch (so a mid-epoch resume reports the
  // same epoch metrics as an uninterrupted run).
  double epoch_loss_sum = 0;
  int64_t epoch_correct = 0;
  int64_t epoch_seen = 0;
  double epoch_seconds = 0;
  nlohmann::json history = nlohmann::json::array();  // one object per finished epoch
  double train_seconds = 0;   // wall time of training so far (all attempts)
  int64_t bad_images = 0;
  std::string config_hash;    // the job's; a resume must match it
};

nlohmann::json TrainStateToJson(const TrainState& s);
StatusOr<TrainState> TrainStateFromJson(const nlohmann::json& j);

// Writes the checkpoint; sets *bytes to the file size.
Status SaveCheckpoint(const std::string& path, nn::NetworkImpl& model, torch::optim::Optimizer& optimizer,
                      const TrainState& state, int64_t* bytes);

// Restores model tensors and optimizer state in place (tensors are mapped to
// `device`) and returns the TrainState. Errors: NOT_FOUND, DATA_LOSS
// (unreadable or incomplete file), INVALID_ARGUMENT (built from another model).
StatusOr<TrainState> LoadCheckpoint(const std::string& path, nn::NetworkImpl& model,
                                    torch::optim::Optimizer& optimizer, torch::Device device);

}  // namespace lcsweep::train
