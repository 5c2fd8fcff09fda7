// Fault suite, thundering duplicates: 100 concurrent SubmitSweep calls of one
// config over real gRPC, each on its own channel (so they really arrive
// together on different connections), against a real coordinator.
//  - A client retrying hard (the same request_id on all 100): one sweep,
//    one job; one call creates it, the other 99 are replays of it.
//  - 100 clients (100 request_ids): still exactly one job; one call creates
//    it, the others link it (REUSED), and each of the 100 acknowledged
//    sweeps exists and holds that job.
// Then the job runs once, and the database passes integrity_check.
#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <set>
#include <thread>
#include <vector>

#include "tests/integration/fault_checks.h"

namespace lcsweep::testing {
namespace {

using std::chrono::seconds;

constexpr int kCalls = 100;

struct Outcome {
  grpc::Status status;
  v1::SubmitSweepResponse response;
};

// kCalls concurrent submits of `spec`, released together; request_id(i) per call.
std::vector<Outcome> SubmitConcurrently(LocalCluster& cluster, const nlohmann::json& spec,
                                        const std::function<std::string(int)>& request_id) {
  std::vector<Outcome> out(kCalls);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&, i] {
      grpc::ChannelArguments args;
      args.SetInt("lcsweep.test.channel", i);  // a distinct channel (and connection) per caller
      auto channel =
          grpc::CreateCustomChannel(cluster.address(), grpc::InsecureChannelCredentials(), args);
      channel->WaitForConnected(std::chrono::system_clock::now() + seconds(10));
      auto stub = v1::JobService::NewStub(channel);
      v1::SubmitSweepRequest req;
      req.set_spec_json(spec.dump());
      req.set_request_id(request_id(i));
      ++ready;
      while (!go) std::this_thread::yield();
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + seconds(60));
      out[i].status = stub->SubmitSweep(&ctx, req, &out[i].response);
    });
  }
  while (ready < kCalls) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  go = true;
  for (auto& t : threads) t.join();
  return out;
}

int64_t TotalJobs(LocalCluster& cluster) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
  v1::ListJobsRequest req;
  req.set_page_size(1000);
  v1::ListJobsResponse resp;
  EXPECT_TRUE(cluster.stub().ListJobs(&ctx, req, &resp).ok());
  return resp.total();
}

std::set<int64_t> AllSweepIds(LocalCluster& cluster) {
  std::set<int64_t> ids;
  v1::ListSweepsRequest req;
  req.set_page_size(1000);
  do {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + seconds(10));
    v1::ListSweepsResponse resp;
    EXPECT_TRUE(cluster.stub().ListSweeps(&ctx, req, &resp).ok());
    for (const auto& s : resp.sweeps()) ids.insert(s.id());
    req.set_page_token(resp.next_page_token());
  } while (!req.page_token().empty());
  return ids;
}

TEST(FaultDuplicates, HundredConcurrentSubmitsOfOneConfigMakeOneJob) {
  LocalCluster cluster(ClusterOptions{/*lease_seconds=*/3, {}, ""});
  FaultTally tally{"duplicates"};
  const nlohmann::json spec = TinySweep("thundering", 2, 256, {}, {5});

  // One client retrying with one request_id.
  const std::vector<Outcome> same = SubmitConcurrently(cluster, spec, [](int) { return "one-request"; });
  std::set<int64_t> sweep_ids, job_ids;
  int created = 0, replayed = 0;
  for (const auto& o : same) {
    ASSERT_TRUE(o.status.ok()) << o.status.error_message();
    ++tally.acknowledged;
    sweep_ids.insert(o.response.sweep_id());
    replayed += o.response.replayed();
    // A replay repeats the first call's answer (created = 1 there too).
    if (!o.response.replayed()) created += o.response.created();
    for (const auto& j : o.response.jobs()) job_ids.insert(j.job_id());
  }
  EXPECT_EQ(sweep_ids.size(), 1u) << "one request_id made several sweeps";
  EXPECT_EQ(job_ids.size(), 1u);
  EXPECT_EQ(created, 1) << "the job was created by " << created << " calls";
  EXPECT_EQ(replayed, kCalls - 1);
  EXPECT_EQ(TotalJobs(cluster), 1);
  tally.duplicated += static_cast<int64_t>(sweep_ids.size()) - 1 + (TotalJobs(cluster) - 1);

  // 100 clients with their own request_ids.
  const std::vector<Outcome> many =
      SubmitConcurrently(cluster, spec, [](int i) { return "client-" + std::to_string(i); });
  std::set<int64_t> many_sweeps;
  int many_created = 0;
  for (const auto& o : many) {
    ASSERT_TRUE(o.status.ok()) << o.status.error_message();
    ++tally.acknowledged;
    EXPECT_FALSE(o.response.replayed());
    many_sweeps.insert(o.response.sweep_id());
    many_created += o.response.created();
    ASSERT_EQ(o.response.jobs_size(), 1);
    EXPECT_EQ(o.response.jobs(0).job_id(), *job_ids.begin())
        << "a concurrent submit of the same config made another job";
    EXPECT_EQ(o.response.jobs(0).outcome(), v1::SUBMIT_OUTCOME_REUSED);
  }
  EXPECT_EQ(many_created, 0);
  EXPECT_EQ(many_sweeps.size(), static_cast<size_t>(kCalls)) << "distinct request_ids, distinct sweeps";
  EXPECT_EQ(TotalJobs(cluster), 1) << "100 concurrent submits of one config made several jobs";
  tally.duplicated += TotalJobs(cluster) - 1;

  // Every acknowledged sweep is stored and links the one job.
  const std::set<int64_t> stored = AllSweepIds(cluster);
  EXPECT_EQ(stored.size(), 1u + kCalls);
  for (int64_t id : many_sweeps) {
    if (!stored.count(id)) ++tally.lost;
    const auto jobs = cluster.Jobs(id);
    ASSERT_EQ(jobs.size(), 1u) << "sweep " << id;
    EXPECT_EQ(jobs[0].id(), *job_ids.begin());
  }
  if (!stored.count(*sweep_ids.begin())) ++tally.lost;

  // The one job runs once.
  cluster.StartWorker("w0");
  ASSERT_TRUE(LocalCluster::WaitUntil(
      [&] { return IsFinal(cluster.GetJob(*job_ids.begin()).state()); }, std::chrono::minutes(2)));
  SweepShape shape;
  shape.jobs = 1;
  shape.epochs = 2;
  shape.train_size = 256;
  shape.compare_with_standalone = false;  // nothing interrupted it
  CheckSweep(cluster, *sweep_ids.begin(), shape, &tally);
  KillCoordinatorAndCheckIntegrity(cluster);
  tally.Print();
  KeepLogs(cluster, "duplicates");
}

}  // namespace
}  // namespace lcsweep::testing
