// Exactly-once over real gRPC: the server commits a change and then its reply
// is lost (the fault hook holds the reply past the client's deadline). The
// client sees DEADLINE_EXCEEDED, resends the very same request, and the
// change exists once: metric reports by (lease, seq), submissions by
// request_id.
#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "tests/rpc/rpc_test_util.h"

namespace lcsweep::testing {
namespace {

using grpc::StatusCode;

// Holds the reply of the first `n` calls of `method` for 1.5 s.
struct LoseReplies {
  std::string method;
  std::atomic<int> left{0};
  std::function<void(const char*)> Hook() {
    return [this](const char* m) {
      if (method == m && left.fetch_sub(1) > 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    };
  }
};

std::unique_ptr<grpc::ClientContext> Short() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(400));
  return ctx;
}

TEST(RpcExactlyOnceTest, AReportCommittedWhoseReplyWasLostIsStoredOnce) {
  TempDir dir;
  LoseReplies lose;
  lose.method = "ReportMetrics";
  StackOptions opts;
  opts.after_commit = lose.Hook();
  Stack stack(dir.path(), opts);
  auto jobs = stack.jobs();
  auto workers = stack.workers();
  {
    v1::SubmitSweepRequest req;
    req.set_spec_json(SweepSpec("once", 1, 1));
    v1::SubmitSweepResponse resp;
    ASSERT_TRUE(jobs->SubmitSweep(Ctx().get(), req, &resp).ok());
  }
  v1::RegisterWorkerRequest reg;
  reg.set_name("w");
  v1::RegisterWorkerResponse reg_resp;
  ASSERT_TRUE(workers->RegisterWorker(Ctx().get(), reg, &reg_resp).ok());
  v1::LeaseJobRequest lreq;
  lreq.set_worker_id(reg_resp.worker_id());
  lreq.set_has_cpu(true);
  v1::LeaseJobResponse lresp;
  ASSERT_TRUE(workers->LeaseJob(Ctx().get(), lreq, &lresp).ok());
  ASSERT_TRUE(lresp.has_lease());

  v1::ReportMetricsRequest report;
  report.set_lease_token(lresp.lease().lease_token());
  report.set_seq(1);
  for (int s = 0; s < 5; ++s) {
    v1::MetricPoint* p = report.add_points();
    p->set_name("train.loss");
    p->set_step(s);
    p->set_value(1.0 / (s + 1));
  }
  lose.left = 2;
  v1::ReportMetricsResponse rresp;
  // Twice committed-then-lost, then acknowledged: the same request each time.
  for (int i = 0; i < 2; ++i)
    EXPECT_EQ(workers->ReportMetrics(Short().get(), report, &rresp).error_code(),
              StatusCode::DEADLINE_EXCEEDED);
  ASSERT_TRUE(workers->ReportMetrics(Ctx().get(), report, &rresp).ok());

  v1::GetMetricsRequest mreq;
  mreq.set_job_id(lresp.lease().job().id());
  mreq.set_include_superseded(true);
  v1::GetMetricsResponse mresp;
  ASSERT_TRUE(jobs->GetMetrics(Ctx().get(), mreq, &mresp).ok());
  ASSERT_EQ(mresp.series_size(), 1);
  EXPECT_EQ(mresp.series(0).points_size(), 5) << "stored once, though committed three times";
}

TEST(RpcExactlyOnceTest, ASubmissionCommittedWhoseReplyWasLostIsReplayedByItsRequestId) {
  TempDir dir;
  LoseReplies lose;
  lose.method = "SubmitSweep";
  lose.left = 1;
  StackOptions opts;
  opts.after_commit = lose.Hook();
  Stack stack(dir.path(), opts);
  auto jobs = stack.jobs();
  v1::SubmitSweepRequest req;
  req.set_spec_json(SweepSpec("idem", 2, 2));
  req.set_request_id("8d1c7c3e-retry");
  v1::SubmitSweepResponse resp;
  EXPECT_EQ(jobs->SubmitSweep(Short().get(), req, &resp).error_code(),
            StatusCode::DEADLINE_EXCEEDED);
  ASSERT_TRUE(jobs->SubmitSweep(Ctx().get(), req, &resp).ok());
  EXPECT_TRUE(resp.replayed());
  EXPECT_EQ(resp.created(), 4);
  v1::ListSweepsRequest list;
  v1::ListSweepsResponse sweeps;
  ASSERT_TRUE(jobs->ListSweeps(Ctx().get(), list, &sweeps).ok());
  ASSERT_EQ(sweeps.sweeps_size(), 1) << "the retry must not create a second sweep";
  EXPECT_EQ(sweeps.sweeps(0).id(), resp.sweep_id());
}

}  // namespace
}  // namespace lcsweep::testing
