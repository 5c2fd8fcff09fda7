// RunJob with model.conv.execution "reduced": the trained Q and c give the
// same run as training P (folded), checkpoints hold Q, c and their momentum
// (not P, not the regenerable R), and resume is bitwise equal to an
// uninterrupted run.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/nn/test_util.h"
#include "worker/nn/lc_conv.h"
#include "worker/nn/resnet.h"
#include "worker/train/trainer.h"

namespace lcsweep::train {
namespace {

// depth 8, width 4, E = 16 on 3-channel images: m = 4*16 .. 16*16 exceeds
// n = c_in*9 in every layer, so every spatial layer trains Q and c.
JobConfig ReducedJob(const std::string& execution) {
  JobConfig j;
  j.seed = 4;
  j.data.name = "synthetic";
  j.data.synthetic.train_size = 160;
  j.data.synthetic.test_size = 32;
  j.data.synthetic.image_size = 12;
  j.data.loader_threads = 1;
  j.model.depth = 8;
  j.model.width = 4;
  j.model.conv.lc_rate = 16;
  j.model.conv.execution = execution;
  j.train.epochs = 2;
  j.train.batch_size = 32;
  j.train.lr = 0.1;
  j.train.weight_decay = 0.05;  // strong enough that c visibly decays
  j.train.threads = 1;
  j.eval.fgsm_eps = {};
  j.eval.filter_stats = false;
  j.checkpoint.every_epochs = 1;
  return j;
}

struct TempDir {
  TempDir() {
    char t[] = "/tmp/lcsweep_reduced_test_XXXXXX";
    path = ::mkdtemp(t);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string path;
};

class DrainAt : public ProgressSink {
 public:
  explicit DrainAt(int poll) : poll_(poll) {}
  Control ShouldStop() override { return ++polls_ == poll_ ? Control::kDrain : Control::kContinue; }

 private:
  int poll_, polls_ = 0;
};

struct JobRun {
  nlohmann::json result;
  std::shared_ptr<nn::NetworkImpl> model;
};

JobRun MustRun(const JobConfig& job, RunOptions options) {
  JobRun run;
  options.device = "cpu";
  options.evaluate = false;
  options.trained_model = &run.model;
  auto result = RunJob(job, options);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  if (result.ok()) run.result = *result;
  return run;
}

TEST(ReducedTrainer, TrainsLikeFoldedP) {
  const JobRun reduced = MustRun(ReducedJob("reduced"), {});
  const JobRun folded = MustRun(ReducedJob("folded"), {});
  ASSERT_TRUE(reduced.model && folded.model);
  for (const auto& l : reduced.result["model"]["layers"]) {
    if (l["kind"] == "spatial") {
      EXPECT_EQ(l["execution"], "reduced") << l["name"];
    }
  }
  const auto& hr = reduced.result["history"];
  const auto& hf = folded.result["history"];
  ASSERT_EQ(hr.size(), hf.size());
  for (size_t i = 0; i < hr.size(); ++i) {
    EXPECT_NEAR(hr[i]["train_loss"].get<double>(), hf[i]["train_loss"].get<double>(), 1e-4);
    EXPECT_NEAR(hr[i]["test_loss"].get<double>(), hf[i]["test_loss"].get<double>(), 1e-4);
  }
  auto lr = reduced.model->SpatialLayers(), lf = folded.model->SpatialLayers();
  ASSERT_EQ(lr.size(), lf.size());
  for (size_t i = 0; i < lr.size(); ++i) {
    EXPECT_LT(nn::testing::RelativeError(lr[i].combination, lf[i].combination), 1e-4) << lr[i].name;
    EXPECT_LT(nn::testing::RelativeError(lr[i].folded, lf[i].folded), 1e-4) << lr[i].name;
  }
  // The orthogonal part of P decayed, so c mattered.
  const double c = reduced.model->named_parameters()["conv1.reduced.decay"].item<double>();
  EXPECT_LT(c, 0.999);
}

TEST(ReducedTrainer, CheckpointHoldsQAndCAndResumesBitwise) {
  const JobConfig job = ReducedJob("reduced");
  const JobRun straight = MustRun(job, {});

  // 5 batches per epoch: poll 8 comes after step 7, mid epoch 1.
  TempDir dir;
  DrainAt drain(8);
  RunOptions first;
  first.device = "cpu";
  first.evaluate = false;
  first.checkpoint_dir = dir.path;
  first.sink = &drain;
  ASSERT_EQ(RunJob(job, first).status().code(), StatusCode::kAborted);

  const std::string path = dir.path + "/" + kCheckpointFile;
  torch::serialize::InputArchive archive;
  archive.load_from(path);
  torch::Tensor t;
  EXPECT_TRUE(archive.try_read("model/conv1.reduced.weight", t, true));
  EXPECT_EQ(t.sizes(), (std::vector<int64_t>{4, 27}));
  EXPECT_TRUE(archive.try_read("model/layer2.0.conv2.reduced.decay", t, true));
  EXPECT_LT(t.item<double>(), 1.0);  // trained, not the initial 1
  EXPECT_FALSE(archive.try_read("model/conv1.reduced.r", t, true));  // regenerated from the seed
  EXPECT_FALSE(archive.try_read("model/conv1.lc.weight", t, true));
  EXPECT_FALSE(archive.try_read("model/conv1.spatial.weight", t, true));

  RunOptions second;
  second.resume_path = path;
  const JobRun resumed = MustRun(job, second);
  ASSERT_TRUE(resumed.model && straight.model);
  EXPECT_EQ(resumed.result["history"].size(), straight.result["history"].size());
  for (size_t i = 0; i < straight.result["history"].size(); ++i) {
    for (const char* k : {"train_loss", "train_accuracy", "test_loss", "test_accuracy"}) {
      EXPECT_EQ(resumed.result["history"][i][k], straight.result["history"][i][k]) << k << " epoch " << i;
    }
  }
  auto sa = resumed.model->CheckpointState(), sb = straight.model->CheckpointState();
  ASSERT_EQ(sa.size(), sb.size());
  for (size_t i = 0; i < sa.size(); ++i) {
    EXPECT_EQ(sa[i].first, sb[i].first);
    EXPECT_TRUE(torch::equal(sa[i].second, sb[i].second)) << sa[i].first;
  }
  // P itself, reconstructed from Q, c, S and P(0): bitwise too.
  auto la = resumed.model->SpatialLayers(), lb = straight.model->SpatialLayers();
  for (size_t i = 0; i < la.size(); ++i) EXPECT_TRUE(torch::equal(la[i].combination, lb[i].combination));
}

TEST(ReducedTrainer, RefusesInvalidCombinationsWithFieldPaths) {
  JobConfig job = ReducedJob("reduced");
  job.model.conv.spatial = "learned";
  RunOptions options;
  options.device = "cpu";
  auto r = RunJob(job, options);
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr("model.conv.execution"));
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr("frozen"));
  job = ReducedJob("reduced");
  job.model.conv.intermediate = "bn";
  r = RunJob(job, options);
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr("model.conv.intermediate"));
}

}  // namespace
}  // namespace lcsweep::train
