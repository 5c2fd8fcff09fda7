// RunJob: one job end to end — data, model, the paper's recipe, checkpoints,
// final evaluation — returning the result document. Used by lcsweep-train
// and by the worker daemon.
//
// Result JSON (every figure of the run):
//   {"job": JobConfigToJson, "config_hash", "model": DescribeModel,
//    "data": {name, source, train_size, test_size, bad_images, ...},
//    "device": {type, index, threads, amp, channels_last},
//    "versions": {lcsweep, git_commit, libtorch, cuda, compiler},
//    "final": {train_loss, train_accuracy, test_loss, test_accuracy, test_top5, test_n},
//    "history": [{epoch, step, lr, train_loss, train_accuracy, test_loss,
//                 test_accuracy, test_top5, seconds, images_per_second}],
//    "evaluation": eval::RunEvaluation's JSON (absent if disabled),
//    "timings_s": {total, train, evaluation, data_load},
//    "throughput": {train_images_per_second}, "steps", "resumed_from"}
// Errors: INVALID_ARGUMENT (bad config), NOT_FOUND/DATA_LOSS (data, checkpoint),
// FAILED_PRECONDITION (CUDA asked for but absent), INTERNAL (NaN/inf loss:
// "training diverged ..."; LibTorch errors), CANCELLED (sink said cancel),
// ABORTED (sink said drain: checkpoint written, message names its path).
// Thread-safety: one job per call; sets LibTorch's global thread count.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "common/job_config.h"
#include "common/status.h"
#include "worker/nn/network.h"
#include "worker/train/progress_sink.h"

namespace lcsweep::train {

struct RunOptions {
  // "cpu", "cuda" or "cuda:N"; empty = the job's resources.device
  // ("any" picks CUDA when available).
  std::string device;
  int64_t threads = 0;         // > 0 overrides train.threads
  std::string checkpoint_dir;  // empty: no checkpoints written
  std::string resume_path;     // checkpoint to resume from (empty: fresh start)
  ProgressSink* sink = nullptr;  // not owned; may be null
  bool evaluate = true;        // run the evaluation suite at the end
  // If set, the final model is exported here (model_export.h) once the job
  // succeeded (after the evaluation, so it holds the evaluated weights).
  std::string model_path;
  // If set, receives the trained model (tests, tools that inspect weights).
  std::shared_ptr<nn::NetworkImpl>* trained_model = nullptr;
};

// File name of the checkpoint inside RunOptions::checkpoint_dir.
inline constexpr const char* kCheckpointFile = "checkpoint.pt";

StatusOr<nlohmann::json> RunJob(const JobConfig& job, const RunOptions& options);

// Device selection shared with lcsweep-train: parses "cpu" / "cuda" / "cuda:N" /
// "any". FAILED_PRECONDITION if CUDA is asked for but unavailable.
StatusOr<torch::Device> ResolveDevice(const std::string& name);

// Versions of everything that can change numbers.
nlohmann::json VersionInfo();

}  // namespace lcsweep::train
