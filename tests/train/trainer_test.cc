// RunJob end to end on a tiny model and synthetic data: learning happens,
// frozen filters stay put, resume (mid-epoch and at an epoch boundary) is
// bitwise equal to an uninterrupted run, divergence and cancellation stop
// the job with clear errors.
#include "worker/train/trainer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "common/job_config_json.h"
#include "worker/nn/describe.h"
#include "worker/nn/network.h"

namespace lcsweep::train {
namespace {

using ::testing::HasSubstr;

JobConfig TinyJob() {
  JobConfig j;
  j.seed = 3;
  j.data.name = "synthetic";
  j.data.synthetic.train_size = 200;
  j.data.synthetic.test_size = 64;
  j.data.synthetic.image_size = 12;
  j.data.synthetic.noise = 0.4;
  j.data.loader_threads = 2;
  j.model.depth = 8;
  j.model.width = 4;
  j.model.conv.mode = "lc";
  j.model.conv.lc_rate = 2;
  j.model.conv.spatial = "frozen";
  j.train.epochs = 3;
  j.train.batch_size = 64;  // 200 = 3 * 64 + 8: last partial batch kept
  j.train.lr = 0.05;
  j.train.threads = 1;
  j.train.log_every_steps = 2;
  j.eval.fgsm_eps = {1.0 / 255};
  j.eval.robustness_limit = 32;
  j.checkpoint.every_epochs = 1;
  return j;
}

struct TempDir {
  TempDir() {
    char t[] = "/tmp/lcsweep_train_test_XXXXXX";
    path = ::mkdtemp(t);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string path;
};

class RecordingSink : public ProgressSink {
 public:
  void OnStep(const StepProgress& p) override { steps.push_back(p); }
  void OnEpoch(const EpochProgress& p) override { epochs.push_back(p); }
  void OnCheckpoint(const CheckpointInfo& c) override { checkpoints.push_back(c); }
  void OnEvaluation(const nlohmann::json& j) override { evaluation = j; }
  Control ShouldStop() override {
    ++polls;
    if (polls == drain_at_poll) return Control::kDrain;
    if (polls == cancel_at_poll) return Control::kCancel;
    return Control::kContinue;
  }
  std::vector<StepProgress> steps;
  std::vector<EpochProgress> epochs;
  std::vector<CheckpointInfo> checkpoints;
  nlohmann::json evaluation;
  int polls = 0, drain_at_poll = -1, cancel_at_poll = -1;
};

// The metric fields of the history (timings excluded).
nlohmann::json Metrics(const nlohmann::json& result) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& h : result["history"]) {
    out.push_back({h["epoch"], h["step"], h["lr"], h["train_loss"], h["train_accuracy"], h["test_loss"],
                   h["test_accuracy"], h["test_top5"]});
  }
  return out;
}

void ExpectSameWeights(nn::NetworkImpl& a, nn::NetworkImpl& b) {
  auto sa = a.CheckpointState(), sb = b.CheckpointState();
  ASSERT_EQ(sa.size(), sb.size());
  for (size_t i = 0; i < sa.size(); ++i) {
    EXPECT_EQ(sa[i].first, sb[i].first);
    EXPECT_TRUE(torch::equal(sa[i].second, sb[i].second)) << sa[i].first;
  }
}

TEST(Trainer, LearnsAndReportsEverything) {
  TempDir dir;
  RecordingSink sink;
  RunOptions opts;
  opts.device = "cpu";
  opts.checkpoint_dir = dir.path;
  opts.sink = &sink;
  std::shared_ptr<nn::NetworkImpl> model;
  opts.trained_model = &model;
  JobConfig job = TinyJob();
  job.train.weight_decay = 0.05;  // decay is on, and must still leave frozen filters alone
  job.train.batch_size = 16;      // 200 = 12 * 16 + 8: 13 steps per epoch
  job.train.lr = 0.1;
  job.train.epochs = 8;           // BN statistics need a few epochs before test accuracy follows
  auto result = RunJob(job, opts);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  const auto& r = *result;
  ASSERT_EQ(r["history"].size(), 8u);
  EXPECT_EQ(r["steps"], 104);
  EXPECT_EQ(sink.epochs.size(), 8u);
  EXPECT_EQ(sink.steps.size(), 52u);  // every 2 steps
  EXPECT_EQ(sink.steps[0].step, 2);
  EXPECT_GT(sink.steps[0].images_per_second, 0);
  EXPECT_EQ(sink.checkpoints.size(), 8u);
  EXPECT_GT(sink.checkpoints.back().bytes, 0);
  EXPECT_TRUE(std::filesystem::exists(dir.path + "/checkpoint.pt"));
  EXPECT_FALSE(std::filesystem::exists(dir.path + "/checkpoint.pt.tmp"));
  EXPECT_GT(r["final"]["test_accuracy"].get<double>(), 0.6) << r["history"].dump();  // chance is 0.1
  EXPECT_EQ(r["final"]["test_n"], 64);
  EXPECT_TRUE(r.contains("evaluation"));
  EXPECT_EQ(r["evaluation"], sink.evaluation);
  EXPECT_EQ(r["config_hash"].get<std::string>().size(), 64u);
  EXPECT_FALSE(r["versions"]["libtorch"].get<std::string>().empty());
  EXPECT_EQ(r["device"]["type"], "cpu");
  EXPECT_TRUE(r["model"].contains("parameters"));

  // Frozen spatial filters are bitwise the freshly generated ones; learned tensors moved.
  auto spec = nn::ModelSpecForJob(job);
  ASSERT_TRUE(spec.ok());
  auto fresh = nn::BuildNetwork(*spec);
  ASSERT_TRUE(fresh.ok());
  auto trained_layers = model->SpatialLayers(), fresh_layers = (*fresh)->SpatialLayers();
  ASSERT_EQ(trained_layers.size(), fresh_layers.size());
  for (size_t i = 0; i < trained_layers.size(); ++i) {
    EXPECT_TRUE(torch::equal(trained_layers[i].spatial, fresh_layers[i].spatial)) << trained_layers[i].name;
    EXPECT_FALSE(torch::equal(trained_layers[i].combination, fresh_layers[i].combination)) << trained_layers[i].name;
  }
  for (const auto& p : model->parameters()) EXPECT_TRUE(p.requires_grad());
}

TEST(Trainer, ResumeIsBitwiseEqualToAnUninterruptedRun) {
  JobConfig job = TinyJob();
  RunOptions base;
  base.device = "cpu";
  base.evaluate = false;
  std::shared_ptr<nn::NetworkImpl> straight_model;
  RunOptions straight = base;
  straight.trained_model = &straight_model;
  auto full = RunJob(job, straight);
  ASSERT_TRUE(full.ok()) << full.status().ToString();

  // Drain in the middle of epoch 1. Each loop iteration polls once: epoch 0
  // is polls 1-5 (4 steps + the end), so poll 7 comes after step 5.
  TempDir dir;
  RecordingSink drain;
  drain.drain_at_poll = 7;
  RunOptions first = base;
  first.checkpoint_dir = dir.path;
  first.sink = &drain;
  auto stopped = RunJob(job, first);
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.status().code(), StatusCode::kAborted);
  EXPECT_THAT(stopped.status().message(), HasSubstr(dir.path + "/checkpoint.pt"));
  ASSERT_FALSE(drain.checkpoints.empty());
  EXPECT_TRUE(drain.checkpoints.back().final);
  EXPECT_EQ(drain.checkpoints.back().step, 5);

  std::shared_ptr<nn::NetworkImpl> resumed_model;
  RunOptions second = base;
  second.resume_path = dir.path + "/checkpoint.pt";
  second.trained_model = &resumed_model;
  auto resumed = RunJob(job, second);
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_EQ(Metrics(*resumed), Metrics(*full));
  EXPECT_EQ((*resumed)["resumed_from"], second.resume_path);
  ExpectSameWeights(*resumed_model, *straight_model);

  // Resume from an epoch-boundary checkpoint (written after epoch 1 of 3).
  TempDir dir2;
  RecordingSink drain2;
  drain2.drain_at_poll = 11;  // first poll of epoch 2: checkpoint at step 8
  RunOptions third = base;
  third.checkpoint_dir = dir2.path;
  third.sink = &drain2;
  ASSERT_EQ(RunJob(job, third).status().code(), StatusCode::kAborted);
  ASSERT_FALSE(drain2.checkpoints.empty());
  EXPECT_EQ(drain2.checkpoints.back().step, 8);
  EXPECT_EQ(drain2.checkpoints.back().epoch, 2);
  RunOptions fourth = base;
  fourth.resume_path = dir2.path + "/checkpoint.pt";
  auto resumed2 = RunJob(job, fourth);
  ASSERT_TRUE(resumed2.ok()) << resumed2.status().ToString();
  EXPECT_EQ(Metrics(*resumed2), Metrics(*full));
}

TEST(Trainer, DevicePlacementTrainsExactlyAsTheHostLoader) {
  // data.placement "device" on the CPU device: the same batches, so the same
  // run, bit for bit, including a drain and resume in the middle of an epoch.
  JobConfig host_job = TinyJob();
  host_job.data.placement = "host";
  JobConfig device_job = TinyJob();
  device_job.data.placement = "device";
  RunOptions base;
  base.device = "cpu";
  base.evaluate = false;
  std::shared_ptr<nn::NetworkImpl> host_model, device_model;
  RunOptions host_opts = base, device_opts = base;
  host_opts.trained_model = &host_model;
  device_opts.trained_model = &device_model;
  auto host = RunJob(host_job, host_opts);
  auto device = RunJob(device_job, device_opts);
  ASSERT_TRUE(host.ok()) << host.status().ToString();
  ASSERT_TRUE(device.ok()) << device.status().ToString();
  EXPECT_EQ((*host)["device"]["data_placement"], "host");
  EXPECT_EQ((*device)["device"]["data_placement"], "device");
  EXPECT_EQ(Metrics(*device), Metrics(*host));
  ExpectSameWeights(*device_model, *host_model);
  EXPECT_EQ(JobConfigHash(device_job), JobConfigHash(host_job));  // a run setting

  TempDir dir;
  RecordingSink drain;
  drain.drain_at_poll = 7;  // after step 5, in epoch 1
  RunOptions first = base;
  first.checkpoint_dir = dir.path;
  first.sink = &drain;
  ASSERT_EQ(RunJob(device_job, first).status().code(), StatusCode::kAborted);
  RunOptions second = base;
  second.resume_path = dir.path + "/checkpoint.pt";
  auto resumed = RunJob(device_job, second);
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_EQ(Metrics(*resumed), Metrics(*host));
}

TEST(Trainer, ResumeRejectsAnotherJobsCheckpoint) {
  TempDir dir;
  JobConfig job = TinyJob();
  job.train.epochs = 1;
  RunOptions opts;
  opts.device = "cpu";
  opts.evaluate = false;
  opts.checkpoint_dir = dir.path;
  ASSERT_TRUE(RunJob(job, opts).ok());
  job.seed = 4;
  RunOptions again;
  again.device = "cpu";
  again.evaluate = false;
  again.resume_path = dir.path + "/checkpoint.pt";
  auto r = RunJob(job, again);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("belongs to job"));
  again.resume_path = dir.path + "/missing.pt";
  EXPECT_EQ(RunJob(job, again).status().code(), StatusCode::kNotFound);
}

TEST(Trainer, DivergenceStopsWithAClearError) {
  JobConfig job = TinyJob();
  job.train.lr = 1e38;
  job.train.schedule = "constant";
  RunOptions opts;
  opts.device = "cpu";
  opts.evaluate = false;
  auto r = RunJob(job, opts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
  EXPECT_THAT(r.status().message(), HasSubstr("training diverged"));
}

TEST(Trainer, CancelStopsWithoutResult) {
  RecordingSink sink;
  sink.cancel_at_poll = 2;
  RunOptions opts;
  opts.device = "cpu";
  opts.sink = &sink;
  auto r = RunJob(TinyJob(), opts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled);
  EXPECT_EQ(sink.steps.size(), 0u);
}

TEST(Trainer, BadDeviceAndConfig) {
  RunOptions opts;
  opts.device = "tpu";
  EXPECT_EQ(RunJob(TinyJob(), opts).status().code(), StatusCode::kInvalidArgument);
  if (!torch::cuda::is_available()) {
    opts.device = "cuda";
    EXPECT_EQ(RunJob(TinyJob(), opts).status().code(), StatusCode::kFailedPrecondition);
  }
  JobConfig bad = TinyJob();
  bad.train.schedule = "linear";
  opts.device = "cpu";
  EXPECT_EQ(RunJob(bad, opts).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lcsweep::train
