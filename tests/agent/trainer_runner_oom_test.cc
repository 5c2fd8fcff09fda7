// TrainerJobRunner's translation of the trainer's out-of-memory errors: a
// stand-in trainer throws c10::OutOfMemoryError (what LibTorch's CUDA
// allocator raises) or returns the statuses a plain c10::Error with a CUDA
// "out of memory" message becomes; the run must say out_of_memory, and a
// different error must not.
#include "worker/runner/trainer_job_runner.h"

#include <c10/util/Exception.h>
#include <gtest/gtest.h>

namespace lcsweep::agent {
namespace {

class NullObserver : public JobObserver {
 public:
  void Record(std::vector<MetricSample>) override {}
  void SetProgress(const ProgressReport&) override {}
  void CheckpointSaved(const std::string&, int64_t, int64_t) override {}
  StopRequest ShouldStop() override { return StopRequest::kContinue; }
};

JobRun RunWith(TrainerJobRunner::TrainFn train) {
  TrainerJobRunner runner(1, std::move(train));
  JobContext context;
  context.lease.config_json = R"({"data": {"name": "synthetic"}})";
  context.device = "cpu";
  NullObserver observer;
  return runner.Run(context, &observer);
}

TEST(TrainerRunnerOomTest, AThrownOutOfMemoryErrorIsAnOutOfMemoryRun) {
  JobRun run = RunWith([](const JobConfig&, const train::RunOptions&) -> StatusOr<nlohmann::json> {
    throw c10::OutOfMemoryError({__func__, __FILE__, static_cast<uint32_t>(__LINE__)},
                                "CUDA out of memory. Tried to allocate 2.00 GiB (fake)");
  });
  EXPECT_EQ(run.outcome, JobRun::Outcome::kFailed);
  EXPECT_TRUE(run.out_of_memory);
  EXPECT_TRUE(run.retryable);
  EXPECT_NE(run.error.find("out of memory"), std::string::npos) << run.error;
}

TEST(TrainerRunnerOomTest, CudaOutOfMemoryMessagesAreOutOfMemoryOtherErrorsAreNot) {
  JobRun cuda = RunWith([](const JobConfig&, const train::RunOptions&) -> StatusOr<nlohmann::json> {
    return InternalError("libtorch: CUDA error: out of memory");
  });
  EXPECT_TRUE(cuda.out_of_memory);
  JobRun exhausted = RunWith([](const JobConfig&, const train::RunOptions&) -> StatusOr<nlohmann::json> {
    return ResourceExhaustedError("out of memory: DefaultCPUAllocator");
  });
  EXPECT_TRUE(exhausted.out_of_memory);
  JobRun other = RunWith([](const JobConfig&, const train::RunOptions&) -> StatusOr<nlohmann::json> {
    return InternalError("libtorch: shape mismatch");
  });
  EXPECT_EQ(other.outcome, JobRun::Outcome::kFailed);
  EXPECT_FALSE(other.out_of_memory);
}

TEST(TrainerRunnerOomTest, EstimatesTheLeasedJobsMemory) {
  TrainerJobRunner runner(1);
  LeaseGrant lease;
  lease.config_json = R"({"data": {"name": "cifar10"}, "model": {"depth": 8, "width": 4},
                         "train": {"batch_size": 32}})";
  StatusOr<int64_t> bytes = runner.EstimateMemoryBytes(lease, "cpu");
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_GT(*bytes, 32 * 3 * 32 * 32 * 4) << "at least the input batch";
  lease.config_json = "not json";
  EXPECT_FALSE(runner.EstimateMemoryBytes(lease, "cpu").ok());
}

}  // namespace
}  // namespace lcsweep::agent
