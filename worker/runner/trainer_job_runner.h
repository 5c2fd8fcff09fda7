// TrainerJobRunner: the agent's JobRunner on top of the trainer
// (train::RunJob). Translates the trainer's progress into metric samples and
// heartbeats, the agent's stop requests into the trainer's controls, and the
// trainer's errors into "retry can help" or not:
//   NOT_FOUND, DATA_LOSS, INVALID_ARGUMENT   data or config problem: no retry
//   INTERNAL "training diverged"              deterministic: no retry
//   FAILED_PRECONDITION (no CUDA here)        another worker may have it: retry
//   RESOURCE_EXHAUSTED (out of memory)        a shared GPU may free up: retry
//   anything else                             retry
// Thread-safety: one Run() at a time per instance (one per slot).
#pragma once

#include <string>

#include "worker/agent/job_runner.h"

namespace lcsweep::agent {

class TrainerJobRunner : public JobRunner {
 public:
  // threads: LibTorch CPU threads for each job (0 = the job's setting).
  explicit TrainerJobRunner(int threads = 0) : threads_(threads) {}
  JobRun Run(const JobContext& context, JobObserver* observer) override;

 private:
  int threads_;
};

// Whether another attempt might succeed after a trainer error.
bool IsRetryableTrainerError(const Status& status);

}  // namespace lcsweep::agent
