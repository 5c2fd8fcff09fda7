// Semantic dedupe in the coordinator core (fake clock, in-memory store):
// submissions that differ only in run settings are one job, and a store
// hashed under the old rule (the whole config) is rehashed at Create
// without deleting the jobs that now share a hash.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/job_config_json.h"
#include "common/job_identity.h"
#include "server/core/coordinator.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/memory_store.h"
#include "tests/server/old_hash.h"
#include "tests/server/test_specs.h"

namespace lcsweep {
namespace {

using ::lcsweep::testing::GridSpec;
using ::testing::HasSubstr;

std::unique_ptr<Coordinator> Make(MemoryStore* store, FakeClock* clock) {
  auto c = Coordinator::Create(store, clock, {});
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(c).value() : nullptr;
}

SubmitSweepResult Submit(Coordinator& c, const nlohmann::json& base) {
  SubmitSweepRequest r;
  r.spec_json = GridSpec("s", {1, 2}, {0, 1}, 0, 3, base);
  auto res = c.SubmitSweep(r);
  EXPECT_TRUE(res.ok()) << res.status().ToString();
  return res.ok() ? *res : SubmitSweepResult{};
}

TEST(IdentityTest, SubmitsDifferingOnlyInRunSettingsAreOneJob) {
  MemoryStore store;
  FakeClock clock;
  auto coord = Make(&store, &clock);
  const nlohmann::json first = {{"data", {{"name", "synthetic"}, {"root", ""}, {"loader_threads", 1}}},
                                {"train", {{"epochs", 1}, {"threads", 1}, {"log_every_steps", 5}}},
                                {"resources", {{"device", "cpu"}}}};
  const SubmitSweepResult a = Submit(*coord, first);
  EXPECT_EQ(a.jobs_created, 4);
  // Threads, device, execution, data root, loader threads and log cadence all differ.
  const nlohmann::json second = {{"data", {{"name", "synthetic"}, {"root", "/elsewhere"}, {"loader_threads", 4}}},
                                 {"train", {{"epochs", 1}, {"threads", 8}, {"log_every_steps", 50}}},
                                 {"model", {{"conv", {{"execution", "unfolded"}}}}},
                                 {"resources", {{"device", "any"}}}};
  const SubmitSweepResult b = Submit(*coord, second);
  EXPECT_EQ(b.jobs_created, 0);
  EXPECT_EQ(b.jobs_reused, 4);
  for (size_t i = 0; i < a.jobs.size(); ++i) EXPECT_EQ(b.jobs[i].job_id, a.jobs[i].job_id);
  // The job keeps the run settings it was created with.
  auto job = coord->GetJob(a.jobs[0].job_id);
  ASSERT_TRUE(job.ok());
  EXPECT_THAT(job->config_json, HasSubstr("\"threads\":1"));
  // Something that changes the model is another job.
  nlohmann::json other = first;
  other["train"]["lr"] = 0.05;
  EXPECT_EQ(Submit(*coord, other).jobs_created, 4);
}

TEST(IdentityTest, OldStoreIsRehashedAndCollidingJobsAreKept) {
  MemoryStore store;
  FakeClock clock;
  const WriteBatch old = ::lcsweep::testing::OldHashStore();
  ASSERT_TRUE(store.Commit(old).ok());
  ASSERT_EQ(store.config_hash_version(), 1);
  ASSERT_NE(old.jobs[0].hash, old.jobs[1].hash);  // two jobs under rule 1

  auto coord = Make(&store, &clock);
  ASSERT_NE(coord, nullptr);
  EXPECT_EQ(store.config_hash_version(), kConfigHashVersion);
  auto j1 = coord->GetJob(1), j2 = coord->GetJob(2);
  ASSERT_TRUE(j1.ok() && j2.ok());  // both kept
  EXPECT_EQ(j1->state, JobState::kSucceeded);
  EXPECT_EQ(j1->hash, j2->hash);
  EXPECT_EQ(j1->group_hash, j2->group_hash);
  EXPECT_EQ(j1->hash, JobConfigHash(*JobConfigFromJson(nlohmann::json::parse(j1->config_json))));
  // Each is told about the other in its audit trail.
  auto events = store.ListEvents({});
  ASSERT_TRUE(events.ok());
  int collisions = 0;
  for (const Event& e : *events) collisions += e.reason.find("both kept") != std::string::npos;
  EXPECT_EQ(collisions, 2);

  // The rehash is durable: a second start changes nothing more.
  auto again = Make(&store, &clock);
  ASSERT_NE(again, nullptr);
  auto events2 = store.ListEvents({});
  EXPECT_EQ(events2->size(), events->size());
  // A new submission of that experiment links the newest of them.
  SubmitSweepRequest r;
  r.spec_json = R"({"name": "again", "base": {"data": {"name": "synthetic"}, "train": {"epochs": 1, "threads": 2}},
                    "list": [{}]})";
  auto res = again->SubmitSweep(r);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->jobs_created, 0);
  EXPECT_EQ(res->jobs[0].job_id, 2);
}

TEST(IdentityTest, IgnoredFieldsDependOnTheDataSet) {
  JobConfig c;
  c.data.name = "fashion_mnist";
  JobConfig d = c;
  d.data.synthetic.noise = 0.9;  // not read for fashion_mnist
  EXPECT_EQ(JobConfigHash(c), JobConfigHash(d));
  c.data.name = d.data.name = "synthetic";
  EXPECT_NE(JobConfigHash(c), JobConfigHash(d));
  JobConfig e = c;
  e.resources.min_gpu_memory_gb = 8;
  e.checkpoint.every_epochs = 5;
  e.eval.corruptions_root = "/c";
  EXPECT_EQ(JobConfigHash(c), JobConfigHash(e));
  e.seed = 3;
  EXPECT_NE(JobConfigHash(c), JobConfigHash(e));
  EXPECT_EQ(JobGroupHash(c), JobGroupHash(e));
  EXPECT_THAT(IgnoredForIdentity(c), ::testing::Not(::testing::Contains("data.synthetic.*")));
}

}  // namespace
}  // namespace lcsweep
