// TrainerJobRunner: the agent's JobRunner on top of the trainer
// (train::RunJob). Translates the trainer's progress into metric samples and
// heartbeats, the agent's stop requests into the trainer's controls, and the
// trainer's errors into "retry can help" or not:
//   NOT_FOUND, DATA_LOSS, INVALID_ARGUMENT   data or config problem: no retry
//   INTERNAL "training diverged"              deterministic: no retry
//   FAILED_PRECONDITION (no CUDA here)        another worker may have it: retry
//   RESOURCE_EXHAUSTED or "out of memory"     out_of_memory: the agent releases the
//                                             job with a raised estimate (job_session.h)
//   anything else                             retry
// Thread-safety: one Run() at a time per instance (one per slot).
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/job_config.h"
#include "worker/agent/job_runner.h"
#include "worker/train/trainer.h"

namespace lcsweep::agent {

class TrainerJobRunner : public JobRunner {
 public:
  // How a job is trained: train::RunJob, or a stand-in in tests.
  using TrainFn = std::function<StatusOr<nlohmann::json>(const JobConfig&, const train::RunOptions&)>;
  // threads: LibTorch CPU threads for each job (0 = the job's setting).
  explicit TrainerJobRunner(int threads = 0, TrainFn train = {});
  JobRun Run(const JobContext& context, JobObserver* observer) override;
  // nn::EstimateJobMemory of the lease's config (worker/nn/memory_estimate.h).
  StatusOr<int64_t> EstimateMemoryBytes(const LeaseGrant& lease, const std::string& device) override;

 private:
  int threads_;
  TrainFn train_;
};

// Whether another attempt might succeed after a trainer error.
bool IsRetryableTrainerError(const Status& status);

// Whether a trainer error is the device running out of memory:
// RESOURCE_EXHAUSTED, or a LibTorch/CUDA message saying "out of memory"
// (e.g. "CUDA error: out of memory" raised as a plain c10::Error).
bool IsOutOfMemoryError(const Status& status);

}  // namespace lcsweep::agent
