// ProgressSink: how a running job reports progress and learns that it should
// stop. lcsweep-train prints it; the worker daemon forwards it to the
// coordinator. Every method is called on the training thread, in order;
// implementations must return quickly (queue work elsewhere if needed).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace lcsweep::train {

struct StepProgress {
  int64_t epoch = 0;            // 0-based epoch of this step
  int64_t step = 0;             // global steps completed (1-based after the first)
  int64_t total_steps = 0;
  int64_t epoch_step = 0;       // steps completed in this epoch
  int64_t steps_per_epoch = 0;
  double loss = 0;              // mean training loss since the last report
  double accuracy = 0;          // training top-1 since the last report
  double lr = 0;                // learning rate used by the last step
  double images_per_second = 0; // since the last report (data + step)
  int64_t run_images = 0;       // training images this run processed (a resumed run counts from 0)
};

struct EpochProgress {
  int64_t epoch = 0;            // 0-based, completed
  int64_t epochs = 0;
  int64_t step = 0;
  double train_loss = 0, train_accuracy = 0;
  double test_loss = 0, test_accuracy = 0, test_top5 = 0;
  double seconds = 0;           // wall time of this epoch (train + test)
  double images_per_second = 0; // training throughput of this epoch
  int64_t run_images = 0;       // as StepProgress::run_images
};

struct CheckpointInfo {
  std::string path;
  int64_t bytes = 0;
  int64_t epoch = 0;            // epochs completed (training resumes in this epoch)
  int64_t step = 0;             // global steps completed
  bool final = false;           // written because of a drain request
};

// What the job should do next, polled once per step.
enum class Control {
  kContinue,
  kCancel,  // stop now, no checkpoint; RunJob returns CANCELLED
  kDrain,   // write a checkpoint, then stop; RunJob returns ABORTED with its path
};

class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void OnStep(const StepProgress&) {}
  virtual void OnEpoch(const EpochProgress&) {}
  virtual void OnCheckpoint(const CheckpointInfo&) {}
  virtual void OnEvaluation(const nlohmann::json&) {}
  virtual Control ShouldStop() { return Control::kContinue; }
};

}  // namespace lcsweep::train
