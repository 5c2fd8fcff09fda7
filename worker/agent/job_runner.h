// JobRunner: how the agent runs one leased job, without knowing LibTorch.
// worker/runner adapts the trainer (worker/train) to it; tests use fakes.
//
// The runner calls the JobObserver from its own (training) thread:
//   Record          metric samples as they are measured
//   SetProgress     the latest epoch/step/metrics for heartbeats
//   CheckpointSaved after a checkpoint file is complete on disk; the agent
//                   uploads it before returning (training waits)
//   ShouldStop      polled every step: continue, cancel (stop now, nothing to
//                   save) or drain (save a checkpoint, then stop)
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "worker/agent/coordinator_client.h"

namespace lcsweep::agent {

enum class StopRequest { kContinue, kCancel, kDrain };

class JobObserver {
 public:
  virtual ~JobObserver() = default;
  virtual void Record(std::vector<MetricSample> samples) = 0;
  virtual void SetProgress(const ProgressReport& progress) = 0;
  virtual void CheckpointSaved(const std::string& path, int64_t epoch, int64_t step) = 0;
  virtual StopRequest ShouldStop() = 0;
};

struct JobRun {
  enum class Outcome { kSucceeded, kFailed, kCancelled, kDrained };
  Outcome outcome = Outcome::kFailed;
  std::string result_json;   // kSucceeded
  std::string error;         // kFailed: what went wrong and its cause
  bool retryable = false;    // kFailed: whether another attempt can help
  // kSucceeded: the final model file (worker/train/model_export.h) in the
  // job's work folder, uploaded before the completion; empty = none.
  std::string model_path = "";
  // kFailed: the device ran out of memory (c10::OutOfMemoryError or a CUDA
  // "out of memory"); the agent releases the job with a raised estimate
  // instead of failing it.
  bool out_of_memory = false;
};

struct JobContext {
  LeaseGrant lease;
  std::string device;           // "cpu" | "cuda:N"
  std::string work_dir;         // private to this job; deleted afterwards
  std::string resume_from;      // checkpoint file to resume from; empty = fresh
};

class JobRunner {
 public:
  virtual ~JobRunner() = default;
  virtual JobRun Run(const JobContext& context, JobObserver* observer) = 0;
  // Device memory the job will need on `device` in bytes (0 = unknown), for
  // packing (worker/agent/packer.h). Called from the slot's thread before
  // Run(). Errors are treated as unknown.
  virtual StatusOr<int64_t> EstimateMemoryBytes(const LeaseGrant& lease, const std::string& device) {
    (void)lease;
    (void)device;
    return int64_t{0};
  }
};

}  // namespace lcsweep::agent
