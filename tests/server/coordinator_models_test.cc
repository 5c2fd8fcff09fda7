// Unit tests of the Coordinator's final models (RecordModel, ModelOfJob,
// --keep-models) with a fake clock and an in-memory store.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/core/coordinator.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/memory_store.h"
#include "tests/server/test_specs.h"

namespace lcsweep {
namespace {

using ::lcsweep::testing::GridSpec;
using ::testing::HasSubstr;

class CoordinatorModelsTest : public ::testing::Test {
 protected:
  void Start(int keep_models) {
    CoordinatorOptions options;
    options.keep_models = keep_models;
    auto c = Coordinator::Create(&store_, &clock_, options);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    coord_ = std::move(c).value();
    WorkerRecord w;
    w.name = "w";
    w.host = "h";
    w.devices.push_back({"cpu", "cpu", 0});
    worker_ = coord_->RegisterWorker(w)->worker_id;
  }

  int64_t Submit(const std::string& spec) {
    SubmitSweepRequest r;
    r.spec_json = spec;
    auto res = coord_->SubmitSweep(r);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    return res.ok() ? res->sweep_id : 0;
  }

  Lease LeaseOne() {
    LeaseRequest r;
    r.worker_id = worker_;
    auto l = coord_->LeaseJob(r);
    EXPECT_TRUE(l.ok() && l->has_value());
    return **l;
  }

  static ModelMeta Meta(const std::string& path, char digest) {
    ModelMeta m;
    m.path = path;
    m.sha256 = std::string(64, digest);
    m.size_bytes = 1000;
    return m;
  }

  // Leases the next job, stores its model at /models/<job> and completes it.
  int64_t TrainOne() {
    Lease l = LeaseOne();
    clock_.Advance(10);
    auto r = coord_->RecordModel(l.token, Meta("/models/" + std::to_string(l.job.id), 'a'));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    removed_.insert(removed_.end(), r->remove.begin(), r->remove.end());
    EXPECT_TRUE(coord_->CompleteJob(l.token, "{}").ok());
    return l.job.id;
  }

  FakeClock clock_;
  MemoryStore store_;
  std::unique_ptr<Coordinator> coord_;
  int64_t worker_ = 0;
  std::vector<std::string> removed_;
};

TEST_F(CoordinatorModelsTest, AResendOfTheSameBytesStoresNothingNew) {
  Start(0);
  Submit(GridSpec("s", {1}));
  Lease l = LeaseOne();
  auto first = coord_->RecordModel(l.token, Meta("/models/first", 'a'));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE(first->duplicate);
  EXPECT_TRUE(first->remove.empty());
  EXPECT_EQ(first->recorded.job_id, l.job.id);
  EXPECT_EQ(first->recorded.attempt, 1);
  // The reply was lost; the worker sends the same file again (stored by the
  // rpc layer under a new name, which the coordinator says to delete).
  auto again = coord_->RecordModel(l.token, Meta("/models/again", 'a'));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->recorded.path, "/models/first");
  EXPECT_EQ(again->remove, std::vector<std::string>{"/models/again"});
  // Different bytes replace the model; the old file goes.
  auto other = coord_->RecordModel(l.token, Meta("/models/other", 'b'));
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->duplicate);
  EXPECT_EQ(other->remove, std::vector<std::string>{"/models/first"});
  ASSERT_TRUE(coord_->CompleteJob(l.token, "{}").ok());
  auto model = coord_->ModelOfJob(l.job.id);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ(model->path, "/models/other");
  EXPECT_EQ(model->sha256, std::string(64, 'b'));
}

TEST_F(CoordinatorModelsTest, OnlyALiveLeaseMayStoreAModel) {
  Start(0);
  Submit(GridSpec("s", {1}));
  Lease l = LeaseOne();
  ASSERT_TRUE(coord_->CompleteJob(l.token, "{}").ok());
  EXPECT_EQ(coord_->RecordModel(l.token, Meta("/m", 'a')).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(coord_->RecordModel("nope", Meta("/m", 'a')).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(CoordinatorModelsTest, ModelOfJobSaysWhyThereIsNone) {
  Start(1);
  Submit(GridSpec("s", {1, 2, 4}));
  EXPECT_EQ(coord_->ModelOfJob(999).status().code(), StatusCode::kNotFound);
  // Queued: not succeeded.
  auto queued = coord_->ModelOfJob(1);
  EXPECT_EQ(queued.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(queued.status().message(), HasSubstr("is queued"));
  // Running with its model uploaded: still not served.
  Lease l = LeaseOne();
  ASSERT_TRUE(coord_->RecordModel(l.token, Meta("/models/x", 'a')).ok());
  EXPECT_EQ(coord_->ModelOfJob(l.job.id).status().code(), StatusCode::kFailedPrecondition);
  // Succeeded without an upload.
  ASSERT_TRUE(coord_->CompleteJob(l.token, "{}").ok());
  Lease bare = LeaseOne();
  ASSERT_TRUE(coord_->CompleteJob(bare.token, "{}").ok());
  auto none = coord_->ModelOfJob(bare.job.id);
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(none.status().message(), HasSubstr("could not upload"));
  // Pruned by keep_models = 1 when the third job stored its model.
  const int64_t third = TrainOne();
  EXPECT_EQ(removed_, std::vector<std::string>{"/models/x"});
  auto pruned = coord_->ModelOfJob(l.job.id);
  EXPECT_EQ(pruned.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(pruned.status().message(), HasSubstr("retention policy"));
  EXPECT_TRUE(coord_->ModelOfJob(third).ok());
}

TEST_F(CoordinatorModelsTest, KeepModelsKeepsTheNewestPerSweepAndSurvivesARestart) {
  Start(2);
  Submit(GridSpec("s", {1, 2, 4, 8}));
  std::vector<int64_t> jobs;
  for (int i = 0; i < 4; ++i) jobs.push_back(TrainOne());
  // The first two were pruned, oldest first.
  EXPECT_EQ(removed_, (std::vector<std::string>{"/models/" + std::to_string(jobs[0]),
                                                "/models/" + std::to_string(jobs[1])}));
  // What the store holds is what a restarted coordinator serves.
  coord_.reset();
  Start(2);
  EXPECT_EQ(coord_->ModelOfJob(jobs[0]).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(coord_->ModelOfJob(jobs[1]).status().code(), StatusCode::kNotFound);
  auto kept = coord_->ModelOfJob(jobs[3]);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ(kept->path, "/models/" + std::to_string(jobs[3]));
  EXPECT_TRUE(coord_->ModelOfJob(jobs[2]).ok());
}

TEST_F(CoordinatorModelsTest, ZeroKeepsEveryModel) {
  Start(0);
  Submit(GridSpec("s", {1, 2, 4, 8}));
  std::vector<int64_t> jobs;
  for (int i = 0; i < 4; ++i) jobs.push_back(TrainOne());
  EXPECT_TRUE(removed_.empty());
  for (int64_t id : jobs) EXPECT_TRUE(coord_->ModelOfJob(id).ok()) << id;
}

TEST_F(CoordinatorModelsTest, AJobInTwoSweepsStaysWhileEitherKeepsIt) {
  Start(1);
  // Sweep A: jobs lc_rate 1 and 2; sweep B shares the lc_rate 1 job.
  Submit(GridSpec("a", {1, 2}));
  const int64_t shared = TrainOne();  // lc_rate 1 (first in queue order)
  Submit(GridSpec("b", {1}));         // links the succeeded job into b
  TrainOne();                         // lc_rate 2 in a: newer, so a would prune `shared`
  EXPECT_TRUE(removed_.empty()) << "sweep b keeps its only model";
  EXPECT_TRUE(coord_->ModelOfJob(shared).ok());
}

}  // namespace
}  // namespace lcsweep
