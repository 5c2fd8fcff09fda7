#include "worker/runner/trainer_job_runner.h"

#include <chrono>

#include <nlohmann/json.hpp>

#include "common/job_config_json.h"
#include "worker/agent/device_probe.h"
#include "worker/nn/memory_estimate.h"
#include "worker/train/trainer.h"

#include <c10/util/Exception.h>

namespace lcsweep::agent {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Forwards the trainer's progress to the agent.
class ObserverSink : public train::ProgressSink {
 public:
  explicit ObserverSink(JobObserver* observer) : observer_(observer) {}

  void OnStep(const train::StepProgress& p) override {
    const int64_t now = NowMs();
    observer_->Record({{"train.step_loss", p.loss, p.step, p.epoch, now},
                       {"train.step_accuracy", p.accuracy, p.step, p.epoch, now},
                       {"train.lr", p.lr, p.step, p.epoch, now},
                       {"train.images_per_second", p.images_per_second, p.step, p.epoch, now}});
    progress_.epoch = p.epoch;
    progress_.step = p.step;
    progress_.metrics["train.step_loss"] = p.loss;
    progress_.metrics["train.lr"] = p.lr;
    progress_.metrics["train.images_per_second"] = p.images_per_second;
    progress_.metrics["total_steps"] = static_cast<double>(p.total_steps);
    progress_.run_images = p.run_images;
    observer_->SetProgress(progress_);
  }

  void OnEpoch(const train::EpochProgress& p) override {
    const int64_t now = NowMs();
    observer_->Record({{"train.loss", p.train_loss, p.step, p.epoch, now},
                       {"train.accuracy", p.train_accuracy, p.step, p.epoch, now},
                       {"test.loss", p.test_loss, p.step, p.epoch, now},
                       {"test.accuracy", p.test_accuracy, p.step, p.epoch, now},
                       {"test.top5", p.test_top5, p.step, p.epoch, now},
                       {"epoch.seconds", p.seconds, p.step, p.epoch, now},
                       {"epoch.images_per_second", p.images_per_second, p.step, p.epoch, now}});
    progress_.epoch = p.epoch + 1;
    progress_.step = p.step;
    progress_.metrics["test.accuracy"] = p.test_accuracy;
    progress_.metrics["test.loss"] = p.test_loss;
    progress_.metrics["epochs"] = static_cast<double>(p.epochs);
    progress_.run_images = p.run_images;
    observer_->SetProgress(progress_);
  }

  void OnCheckpoint(const train::CheckpointInfo& c) override {
    observer_->CheckpointSaved(c.path, c.epoch, c.step);
  }

  train::Control ShouldStop() override {
    switch (observer_->ShouldStop()) {
      case StopRequest::kContinue: return train::Control::kContinue;
      case StopRequest::kCancel: return train::Control::kCancel;
      case StopRequest::kDrain: return train::Control::kDrain;
    }
    return train::Control::kContinue;
  }

 private:
  JobObserver* observer_;
  ProgressReport progress_;
};

}  // namespace

bool IsOutOfMemoryError(const Status& status) {
  if (status.ok()) return false;
  const std::string& m = status.message();
  return status.code() == StatusCode::kResourceExhausted || m.find("out of memory") != std::string::npos ||
         m.find("not enough memory") != std::string::npos;
}

TrainerJobRunner::TrainerJobRunner(int threads, TrainFn train)
    : threads_(threads), train_(train ? std::move(train) : TrainFn(train::RunJob)) {}

StatusOr<int64_t> TrainerJobRunner::EstimateMemoryBytes(const LeaseGrant& lease, const std::string& device) {
  nlohmann::json config_json = nlohmann::json::parse(lease.config_json, nullptr, false);
  if (config_json.is_discarded()) return InvalidArgumentError("job config is not valid JSON");
  LCSWEEP_ASSIGN_OR_RETURN(JobConfig config, JobConfigFromJson(config_json));
  LCSWEEP_ASSIGN_OR_RETURN(nn::MemoryEstimate estimate, nn::EstimateJobMemory(config, IsCudaDevice(device)));
  return estimate.total();
}

bool IsRetryableTrainerError(const Status& status) {
  switch (status.code()) {
    case StatusCode::kNotFound:
    case StatusCode::kDataLoss:
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
    case StatusCode::kUnimplemented:
      return false;
    case StatusCode::kInternal:
      return status.message().find("diverged") == std::string::npos;
    default:
      return true;
  }
}

JobRun TrainerJobRunner::Run(const JobContext& context, JobObserver* observer) {
  JobRun run;
  nlohmann::json config_json = nlohmann::json::parse(context.lease.config_json, nullptr, false);
  if (config_json.is_discarded()) {
    run.error = "job config is not valid JSON";
    return run;
  }
  StatusOr<JobConfig> config = JobConfigFromJson(config_json);
  if (!config.ok()) {
    // A coordinator and worker of different versions may disagree on the schema.
    run.error = "job config rejected by this worker: " + config.status().message();
    return run;
  }
  ObserverSink sink(observer);
  train::RunOptions options;
  options.device = context.device;
  options.threads = threads_;
  options.checkpoint_dir = context.work_dir;
  options.resume_path = context.resume_from;
  options.model_path = context.work_dir + "/model.pt";
  options.sink = &sink;
  StatusOr<nlohmann::json> result = InternalError("not run");
  try {
    result = train_(*config, options);
  } catch (const c10::OutOfMemoryError& e) {  // a trainer that let it through
    result = ResourceExhaustedError(std::string("out of memory: ") + e.what_without_backtrace());
  }
  if (result.ok()) {
    run.outcome = JobRun::Outcome::kSucceeded;
    run.result_json = result->dump();
    run.model_path = options.model_path;
    return run;
  }
  switch (result.status().code()) {
    case StatusCode::kCancelled:
      run.outcome = JobRun::Outcome::kCancelled;
      return run;
    case StatusCode::kAborted:
      run.outcome = JobRun::Outcome::kDrained;
      return run;
    default:
      run.outcome = JobRun::Outcome::kFailed;
      run.error = result.status().ToString();
      run.retryable = IsRetryableTrainerError(result.status());
      run.out_of_memory = IsOutOfMemoryError(result.status());
      return run;
  }
}

}  // namespace lcsweep::agent
