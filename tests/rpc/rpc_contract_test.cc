// Each status code coordinator.proto documents for an RPC, provoked over a
// real gRPC server on loopback (UNAUTHENTICATED / PERMISSION_DENIED for every
// RPC are in rpc_server_test's AuthMatrix; stale fencing tokens in its
// StaleTokenIsRefusedOnEveryWorkerCall).
#include <string>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "common/limits.h"
#include "tests/rpc/rpc_test_util.h"

namespace lcsweep::testing {
namespace {

using grpc::StatusCode;

class RpcContractTest : public ::testing::Test {
 protected:
  RpcContractTest() : stack_(dir_.path()), jobs_(stack_.jobs()), workers_(stack_.workers()) {}

  // Calls a unary method of a stub and returns the status code.
  template <typename Stub, typename Req, typename Resp>
  StatusCode Call(Stub* stub,
                  grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                  const Req& req) {
    Resp resp;
    auto ctx = Ctx();
    grpc::Status st = (stub->*method)(ctx.get(), req, &resp);
    last_message_ = st.error_message();
    return st.error_code();
  }

  // The first message of a server stream (where errors arrive).
  template <typename Req>
  StatusCode Watch(std::unique_ptr<grpc::ClientReader<v1::WatchResponse>> (
                       v1::JobService::Stub::*method)(grpc::ClientContext*, const Req&),
                   const Req& req) {
    auto ctx = Ctx();
    auto reader = (jobs_.get()->*method)(ctx.get(), req);
    v1::WatchResponse msg;
    while (reader->Read(&msg)) {
    }
    return reader->Finish().error_code();
  }

  int64_t SubmitOne() {
    v1::SubmitSweepRequest req;
    req.set_spec_json(SweepSpec("c" + std::to_string(++n_), 1, 1));
    v1::SubmitSweepResponse resp;
    auto ctx = Ctx();
    EXPECT_TRUE(jobs_->SubmitSweep(ctx.get(), req, &resp).ok());
    return resp.jobs(0).job_id();
  }

  TempDir dir_;
  Stack stack_;
  std::unique_ptr<v1::JobService::Stub> jobs_;
  std::unique_ptr<v1::WorkerService::Stub> workers_;
  std::string last_message_;
  int n_ = 0;
};

using JS = v1::JobService::Stub;
using WS = v1::WorkerService::Stub;

TEST_F(RpcContractTest, JobServiceReads) {
  v1::GetSweepRequest gs;
  gs.set_sweep_id(999);
  EXPECT_EQ(Call(jobs_.get(), &JS::GetSweep, gs), StatusCode::NOT_FOUND);
  v1::ListSweepsRequest ls;
  ls.set_page_token("x1");
  EXPECT_EQ(Call(jobs_.get(), &JS::ListSweeps, ls), StatusCode::INVALID_ARGUMENT);
  v1::ListJobsRequest lj;
  lj.set_sweep_id(999);
  EXPECT_EQ(Call(jobs_.get(), &JS::ListJobs, lj), StatusCode::NOT_FOUND);
  lj.set_sweep_id(0);
  lj.set_page_token("not-a-token");
  EXPECT_EQ(Call(jobs_.get(), &JS::ListJobs, lj), StatusCode::INVALID_ARGUMENT);
  v1::GetJobRequest gj;
  gj.set_job_id(999);
  EXPECT_EQ(Call(jobs_.get(), &JS::GetJob, gj), StatusCode::NOT_FOUND);
  v1::GetResultsRequest gr;
  gr.set_sweep_id(999);
  EXPECT_EQ(Call(jobs_.get(), &JS::GetResults, gr), StatusCode::NOT_FOUND);
  gr.set_sweep_id(0);
  gr.add_job_ids(999);
  EXPECT_EQ(Call(jobs_.get(), &JS::GetResults, gr), StatusCode::NOT_FOUND);
  gr.clear_job_ids();
  gr.set_page_token("-1");
  EXPECT_EQ(Call(jobs_.get(), &JS::GetResults, gr), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(last_message_.rfind("page_token: ", 0), 0u) << last_message_;
  v1::ListEventsRequest le;
  le.set_job_id(999);
  EXPECT_EQ(Call(jobs_.get(), &JS::ListEvents, le), StatusCode::NOT_FOUND);
  le.set_job_id(0);
  le.set_sweep_id(999);
  EXPECT_EQ(Call(jobs_.get(), &JS::ListEvents, le), StatusCode::NOT_FOUND);
  v1::ListWorkersRequest lw;
  lw.set_page_token("abc");
  EXPECT_EQ(Call(jobs_.get(), &JS::ListWorkers, lw), StatusCode::INVALID_ARGUMENT);
  v1::WatchJobRequest wj;
  wj.set_job_id(999);
  EXPECT_EQ(Watch(&JS::WatchJob, wj), StatusCode::NOT_FOUND);
  v1::WatchSweepRequest ws;
  ws.set_sweep_id(999);
  EXPECT_EQ(Watch(&JS::WatchSweep, ws), StatusCode::NOT_FOUND);
}

TEST_F(RpcContractTest, JobServiceMutations) {
  v1::SubmitSweepRequest ss;
  ss.set_spec_json("{\"name\": \"x\", \"grid\": {}}");
  EXPECT_EQ(Call(jobs_.get(), &JS::SubmitSweep, ss), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(last_message_.find("grid: found an empty object"), std::string::npos) << last_message_;
  const int64_t job = SubmitOne();
  v1::CancelJobRequest cj;
  cj.set_job_id(999);
  EXPECT_EQ(Call(jobs_.get(), &JS::CancelJob, cj), StatusCode::NOT_FOUND);
  cj.set_reason(std::string(2000, 'r'));
  cj.set_job_id(job);
  EXPECT_EQ(Call(jobs_.get(), &JS::CancelJob, cj), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(last_message_.find("kMaxReasonBytes"), std::string::npos) << last_message_;
  v1::RetryJobRequest rj;
  rj.set_job_id(job);  // queued
  EXPECT_EQ(Call(jobs_.get(), &JS::RetryJob, rj), StatusCode::FAILED_PRECONDITION);
  rj.set_job_id(999);
  EXPECT_EQ(Call(jobs_.get(), &JS::RetryJob, rj), StatusCode::NOT_FOUND);
  cj.set_reason("");
  cj.set_job_id(job);
  EXPECT_EQ(Call(jobs_.get(), &JS::CancelJob, cj), StatusCode::OK);
  EXPECT_EQ(Call(jobs_.get(), &JS::CancelJob, cj), StatusCode::OK);  // already cancelled: no-op
  v1::CancelSweepRequest cs;
  cs.set_sweep_id(999);
  EXPECT_EQ(Call(jobs_.get(), &JS::CancelSweep, cs), StatusCode::NOT_FOUND);
}

TEST_F(RpcContractTest, WorkerService) {
  v1::RegisterWorkerRequest rw;
  EXPECT_EQ(Call(workers_.get(), &WS::RegisterWorker, rw), StatusCode::INVALID_ARGUMENT);  // no name
  rw.set_name("w");
  for (int i = 0; i < 65; ++i) rw.add_devices()->set_kind("cpu");
  EXPECT_EQ(Call(workers_.get(), &WS::RegisterWorker, rw), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(last_message_.find("kMaxWorkerDevices"), std::string::npos) << last_message_;
  v1::LeaseJobRequest lj;
  lj.set_worker_id(999);
  lj.set_has_cpu(true);
  EXPECT_EQ(Call(workers_.get(), &WS::LeaseJob, lj), StatusCode::NOT_FOUND);
  lj.set_wait_seconds(-1);
  EXPECT_EQ(Call(workers_.get(), &WS::LeaseJob, lj), StatusCode::INVALID_ARGUMENT);
  // A live lease for the calls that need one.
  rw.clear_devices();
  v1::RegisterWorkerResponse reg;
  {
    auto ctx = Ctx();
    ASSERT_TRUE(workers_->RegisterWorker(ctx.get(), rw, &reg).ok());
  }
  SubmitOne();
  lj.set_worker_id(reg.worker_id());
  lj.set_wait_seconds(0);
  v1::LeaseJobResponse lease;
  {
    auto ctx = Ctx();
    ASSERT_TRUE(workers_->LeaseJob(ctx.get(), lj, &lease).ok());
    ASSERT_TRUE(lease.has_lease());
  }
  const std::string token = lease.lease().lease_token();
  v1::HeartbeatRequest hb;
  hb.set_lease_token(token);
  for (int i = 0; i < 300; ++i) (*hb.mutable_progress()->mutable_metrics())["m" + std::to_string(i)] = i;
  EXPECT_EQ(Call(workers_.get(), &WS::Heartbeat, hb), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(last_message_.find("kMaxProgressMetrics"), std::string::npos) << last_message_;
  v1::DownloadCheckpointRequest dc;
  dc.set_lease_token(token);
  {
    auto ctx = Ctx();
    auto reader = workers_->DownloadCheckpoint(ctx.get(), dc);
    v1::DownloadCheckpointResponse part;
    while (reader->Read(&part)) {
    }
    EXPECT_EQ(reader->Finish().error_code(), StatusCode::NOT_FOUND);
  }
  v1::FailJobRequest fj;
  fj.set_lease_token(token);
  fj.set_error(std::string(kMaxErrorTextBytes + 1, 'e'));
  EXPECT_EQ(Call(workers_.get(), &WS::FailJob, fj), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(last_message_.find("kMaxErrorTextBytes"), std::string::npos) << last_message_;
  v1::ReleaseJobRequest rl;
  rl.set_lease_token(token);
  rl.set_reason("\xFF");
  EXPECT_EQ(Call(workers_.get(), &WS::ReleaseJob, rl), StatusCode::INVALID_ARGUMENT);
  v1::CompleteJobRequest cj;
  cj.set_lease_token(token);
  cj.set_result_json("[1, 2]");  // not an object
  EXPECT_EQ(Call(workers_.get(), &WS::CompleteJob, cj), StatusCode::INVALID_ARGUMENT);
  cj.set_result_json("{\"a\": 1}");
  EXPECT_EQ(Call(workers_.get(), &WS::CompleteJob, cj), StatusCode::OK);
  EXPECT_EQ(Call(workers_.get(), &WS::CompleteJob, cj), StatusCode::FAILED_PRECONDITION);
}

}  // namespace
}  // namespace lcsweep::testing
