// The input limits, bounded error trailers and size-paged replies over a real
// gRPC server on loopback, read by clients with gRPC's default limits
// (4 MiB receive, 8 KiB metadata) like an outside client would be.
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "common/limits.h"
#include "proto/convert.h"
#include "tests/rpc/rpc_test_util.h"

namespace lcsweep::testing {
namespace {

using grpc::StatusCode;

// A channel with gRPC's defaults: nothing raised.
std::shared_ptr<grpc::Channel> DefaultChannel(Stack& stack) {
  return grpc::CreateChannel(stack.server()->address(), grpc::InsecureChannelCredentials());
}

std::string Deep(size_t n) { return std::string(n, '[') + std::string(n, ']'); }

int64_t Submit(Stack& stack, const std::string& spec) {
  v1::SubmitSweepRequest req;
  req.set_spec_json(spec);
  v1::SubmitSweepResponse resp;
  auto ctx = Ctx();
  grpc::Status st = stack.jobs()->SubmitSweep(ctx.get(), req, &resp);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return resp.sweep_id();
}

// Registers a worker and leases one job.
v1::Lease LeaseOne(Stack& stack) {
  auto w = stack.workers();
  v1::RegisterWorkerRequest reg;
  reg.set_name("w");
  v1::RegisterWorkerResponse reg_resp;
  auto c1 = Ctx();
  EXPECT_TRUE(w->RegisterWorker(c1.get(), reg, &reg_resp).ok());
  v1::LeaseJobRequest lr;
  lr.set_worker_id(reg_resp.worker_id());
  lr.set_has_cpu(true);
  v1::LeaseJobResponse lease;
  auto c2 = Ctx();
  EXPECT_TRUE(w->LeaseJob(c2.get(), lr, &lease).ok());
  EXPECT_TRUE(lease.has_lease());
  return lease.lease();
}

grpc::Status Complete(Stack& stack, const std::string& token, const std::string& result) {
  v1::CompleteJobRequest req;
  req.set_lease_token(token);
  req.set_result_json(result);
  v1::CompleteJobResponse resp;
  auto ctx = Ctx();
  return stack.workers()->CompleteJob(ctx.get(), req, &resp);
}

TEST(RpcLimitsTest, DeepResultIsRefusedAndTheCoordinatorKeepsServing) {
  TempDir dir;
  Stack stack(dir.path());
  const int64_t sweep = Submit(stack, SweepSpec("deep", 1, 1));
  v1::Lease lease = LeaseOne(stack);
  // 70,000 levels crashed the coordinator (SIGSEGV in dump); 40,000 were
  // stored and crashed every later GetResults.
  for (size_t depth : {size_t{70000}, size_t{40000}, kMaxResultDepth}) {
    grpc::Status st = Complete(stack, lease.lease_token(), "{\"a\": " + Deep(depth) + "}");
    ASSERT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT) << depth;
    EXPECT_NE(st.error_message().find("result_json: nested"), std::string::npos) << st.error_message();
    EXPECT_NE(st.error_message().find("kMaxResultDepth"), std::string::npos) << st.error_message();
  }
  grpc::Status big = Complete(stack, lease.lease_token(),
                              "{\"a\": \"" + std::string(kMaxResultBytes, 'x') + "\"}");
  ASSERT_EQ(big.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(big.error_message().find("kMaxResultBytes"), std::string::npos) << big.error_message();
  // The job is still running under its lease and completes normally.
  ASSERT_TRUE(Complete(stack, lease.lease_token(), "{\"a\": " + Deep(kMaxResultDepth - 1) +
                                                       ", \"test\": {\"accuracy\": 0.5}}")
                  .ok());
  v1::GetResultsRequest rr;
  rr.set_sweep_id(sweep);
  v1::GetResultsResponse results;
  auto ctx = Ctx();
  grpc::Status st = v1::JobService::NewStub(DefaultChannel(stack))->GetResults(ctx.get(), rr, &results);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(results.groups_size(), 1);
  EXPECT_EQ(results.groups(0).figures().at("test.accuracy").mean(), 0.5);
}

TEST(RpcLimitsTest, DeepOrHugeSpecIsRefusedNamingTheLimit) {
  TempDir dir;
  Stack stack(dir.path());
  auto jobs = stack.jobs();
  for (const std::string& spec :
       {"{\"name\": \"x\", \"list\": [{}], \"description\": " + Deep(70000) + "}",
        "{\"name\": \"x\", \"list\": [{}], \"description\": \"" + std::string(kMaxSpecBytes, 'd') +
            "\"}"}) {
    v1::SubmitSweepRequest req;
    req.set_spec_json(spec);
    v1::SubmitSweepResponse resp;
    auto ctx = Ctx();
    grpc::Status st = jobs->SubmitSweep(ctx.get(), req, &resp);
    ASSERT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(st.error_message().rfind("spec_json: ", 0), 0u) << st.error_message();
    EXPECT_NE(st.error_message().find("kMaxSpec"), std::string::npos) << st.error_message();
  }
}

TEST(RpcLimitsTest, TwoThousandFieldErrorsReachADefaultClient) {
  TempDir dir;
  Stack stack(dir.path());
  std::string list;
  for (int i = 0; i < 2000; ++i) list += (i ? "," : "") + std::string("{\"no.such.path") +
                                         std::to_string(i) + "\": 1}";
  v1::SubmitSweepRequest req;
  req.set_spec_json("{\"name\": \"errors\", \"list\": [" + list + "]}");
  v1::SubmitSweepResponse resp;
  auto ctx = Ctx();
  grpc::Status st = v1::JobService::NewStub(DefaultChannel(stack))->SubmitSweep(ctx.get(), req, &resp);
  // Before: RESOURCE_EXHAUSTED with no errors (trailers over 8 KiB).
  ASSERT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT) << st.error_message();
  v1::ErrorDetails details = ParseErrorDetails(st);
  ASSERT_GT(details.field_errors_size(), 0);
  EXPECT_LE(details.field_errors_size(), static_cast<int>(kMaxReportedFieldErrors));
  EXPECT_EQ(details.field_errors_size() + details.omitted(), 2000);
  EXPECT_EQ(details.field_errors(0).path(), "list[0][\"no.such.path0\"]");
  EXPECT_NE(st.error_message().find("more errors (2000 in all)"), std::string::npos)
      << st.error_message();
  EXPECT_NE(FormatFieldErrors(details).find("more errors (2000 in all)"), std::string::npos);
  EXPECT_LE(st.error_message().size(), kMaxStatusMessageBytes);
  EXPECT_LE(st.error_details().size(), kMaxErrorDetailsBytes);
}

TEST(RpcLimitsTest, NonUtf8TextIsRefusedNamingTheField) {
  TempDir dir;
  Stack stack(dir.path());
  const int64_t sweep = Submit(stack, SweepSpec("utf8", 1, 1));
  (void)sweep;
  {
    v1::CancelJobRequest req;
    req.set_job_id(1);
    req.set_reason("bad \xFF reason");
    v1::CancelJobResponse resp;
    auto ctx = Ctx();
    grpc::Status st = stack.jobs()->CancelJob(ctx.get(), req, &resp);
    ASSERT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);  // was INTERNAL, empty message
    EXPECT_EQ(st.error_message().rfind("reason: not valid UTF-8", 0), 0u) << st.error_message();
  }
  {
    v1::RegisterWorkerRequest req;
    req.set_name("w\xC3");
    v1::RegisterWorkerResponse resp;
    auto ctx = Ctx();
    grpc::Status st = stack.workers()->RegisterWorker(ctx.get(), req, &resp);
    ASSERT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(st.error_message().rfind("name: not valid UTF-8", 0), 0u) << st.error_message();
  }
  {
    v1::RegisterWorkerRequest req;
    req.set_name("w");
    (*req.mutable_labels())["rack"] = std::string(kMaxWorkerFieldBytes + 1, 'r');
    v1::RegisterWorkerResponse resp;
    auto ctx = Ctx();
    grpc::Status st = stack.workers()->RegisterWorker(ctx.get(), req, &resp);
    ASSERT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(st.error_message().rfind("labels[\"rack\"]: ", 0), 0u) << st.error_message();
  }
  {
    v1::SubmitSweepRequest req;
    req.set_spec_json(SweepSpec("utf8b", 1, 1) + "\xFF");
    v1::SubmitSweepResponse resp;
    auto ctx = Ctx();
    grpc::Status st = stack.jobs()->SubmitSweep(ctx.get(), req, &resp);
    ASSERT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(st.error_message().rfind("spec_json: not valid UTF-8", 0), 0u) << st.error_message();
  }
}

TEST(RpcLimitsTest, PriorityOverrideIsRangeChecked) {
  TempDir dir;
  Stack stack(dir.path());
  for (int64_t p : {kMaxPriority + 1, kMinPriority - 1}) {
    v1::SubmitSweepRequest req;
    req.set_spec_json(SweepSpec("prio", 1, 1));
    req.set_priority(static_cast<int32_t>(p));
    v1::SubmitSweepResponse resp;
    auto ctx = Ctx();
    grpc::Status st = stack.jobs()->SubmitSweep(ctx.get(), req, &resp);
    ASSERT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT) << p;
    EXPECT_EQ(st.error_message().rfind("priority: ", 0), 0u) << st.error_message();
  }
  v1::SubmitSweepRequest req;
  req.set_spec_json(SweepSpec("prio", 1, 1));
  req.set_priority(static_cast<int32_t>(kMaxPriority));
  v1::SubmitSweepResponse resp;
  auto ctx = Ctx();
  EXPECT_TRUE(stack.jobs()->SubmitSweep(ctx.get(), req, &resp).ok());
}

TEST(RpcLimitsTest, UnspecifiedStateFilterMeansAny) {
  TempDir dir;
  Stack stack(dir.path());
  Submit(stack, SweepSpec("states", 2, 2));
  auto list = [&](std::vector<int> states, grpc::Status* st) {
    v1::ListJobsRequest req;
    for (int s : states) req.add_states(static_cast<v1::JobState>(s));
    v1::ListJobsResponse resp;
    auto ctx = Ctx();
    *st = stack.jobs()->ListJobs(ctx.get(), req, &resp);
    return resp.jobs_size();
  };
  grpc::Status st;
  EXPECT_EQ(list({v1::JOB_STATE_UNSPECIFIED}, &st), 4);
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(list({v1::JOB_STATE_SUCCEEDED, v1::JOB_STATE_UNSPECIFIED}, &st), 4);
  EXPECT_EQ(list({v1::JOB_STATE_SUCCEEDED}, &st), 0);
  list({99}, &st);
  EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
}

// Completes every queued job of the stack with a result of `result_bytes`.
void CompleteAll(Stack& stack, size_t n, size_t result_bytes) {
  for (size_t i = 0; i < n; ++i) {
    v1::Lease lease = LeaseOne(stack);
    std::string result = "{\"test\": {\"accuracy\": 0.5}, \"pad\": \"" +
                         std::string(result_bytes, static_cast<char>('a' + i % 26)) + "\"}";
    ASSERT_TRUE(Complete(stack, lease.lease_token(), result).ok());
  }
}

TEST(RpcLimitsTest, ListJobsPagesBySizeForADefaultClient) {
  TempDir dir;
  Stack stack(dir.path());
  const int64_t sweep = Submit(stack, SweepSpec("big", 3, 3));  // 9 jobs
  CompleteAll(stack, 9, kMaxResultBytes - 100);                 // ~9 MiB of results
  auto jobs = v1::JobService::NewStub(DefaultChannel(stack));
  std::vector<int64_t> seen;
  std::string token;
  int pages = 0;
  do {
    v1::ListJobsRequest req;
    req.set_sweep_id(sweep);
    req.set_page_size(1000);
    req.set_page_token(token);
    v1::ListJobsResponse resp;
    auto ctx = Ctx();
    grpc::Status st = jobs->ListJobs(ctx.get(), req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();  // before: RESOURCE_EXHAUSTED
    EXPECT_LE(resp.ByteSizeLong(), kDefaultClientMaxReceiveBytes);
    EXPECT_EQ(resp.total(), 9);
    for (const v1::Job& j : resp.jobs()) {
      seen.push_back(j.id());
      EXPECT_GT(j.result_json().size(), kMaxResultBytes - 100);  // nothing cut
      EXPECT_EQ(j.omitted_fields_size(), 0);
    }
    token = resp.next_page_token();
    ++pages;
  } while (!token.empty());
  EXPECT_EQ(seen.size(), 9u);
  EXPECT_GE(pages, 3);
  for (size_t i = 1; i < seen.size(); ++i) EXPECT_LT(seen[i - 1], seen[i]);
}

TEST(RpcLimitsTest, ListEventsPagesBySizeForADefaultClient) {
  TempDir dir;
  Stack stack(dir.path());
  std::string seeds;
  for (int i = 0; i < 6000; ++i) seeds += (i ? "," : "") + std::to_string(i);
  v1::SubmitSweepRequest sreq;
  sreq.set_spec_json(R"({"name": "ev", "base": {"data": {"name": "synthetic"}}, "list": [{}], "seeds": [)" +
                     seeds + "]}");
  v1::SubmitSweepResponse sresp;
  auto c0 = Ctx(std::string(), 120);
  ASSERT_TRUE(stack.jobs()->SubmitSweep(c0.get(), sreq, &sresp).ok());
  v1::CancelSweepRequest creq;
  creq.set_sweep_id(sresp.sweep_id());
  creq.set_reason(std::string(kMaxReasonBytes, 'r'));
  v1::CancelSweepResponse cresp;
  auto c1 = Ctx(std::string(), 120);
  ASSERT_TRUE(stack.jobs()->CancelSweep(c1.get(), creq, &cresp).ok());
  auto jobs = v1::JobService::NewStub(DefaultChannel(stack));
  int64_t after = 0;
  size_t total = 0, long_reasons = 0;
  int pages = 0;
  while (true) {
    v1::ListEventsRequest req;
    req.set_after_id(after);
    req.set_limit(5000);
    v1::ListEventsResponse resp;
    auto ctx = Ctx();
    grpc::Status st = jobs->ListEvents(ctx.get(), req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    ++pages;
    if (resp.events().empty()) break;
    for (const v1::Event& e : resp.events()) {
      EXPECT_GT(e.id(), after);
      after = e.id();
      long_reasons += e.reason().size() >= kMaxReasonBytes;
    }
    total += static_cast<size_t>(resp.events_size());
    if (!resp.next_page_token().empty()) {
      EXPECT_EQ(resp.next_page_token(), std::to_string(after));
    }
  }
  // Events 5001..10000 (1000 short, 4000 with 1 KiB reasons) are 4.3 MB:
  // one page of 5000 would pass a default client's 4 MiB.
  EXPECT_EQ(total, 12000u);
  EXPECT_EQ(long_reasons, 6000u);
  EXPECT_GE(pages, 3);
}

}  // namespace
}  // namespace lcsweep::testing

namespace lcsweep::testing {
namespace {

TEST(RpcLimitsTest, UnparsableRequestGetsInvalidArgumentWithAMessage) {
  TempDir dir;
  Stack stack(dir.path());
  // A map key is `string` on the wire: protobuf refuses the whole request.
  v1::RegisterWorkerRequest req;
  req.set_name("w");
  (*req.mutable_labels())["bad\xFFkey"] = "v";
  v1::RegisterWorkerResponse resp;
  auto ctx = Ctx();
  grpc::Status st = stack.workers()->RegisterWorker(ctx.get(), req, &resp);
  ASSERT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT) << st.error_message();  // was INTERNAL, ""
  EXPECT_NE(st.error_message().find("RegisterWorker could not be parsed"), std::string::npos)
      << st.error_message();
  EXPECT_NE(st.error_message().find("UTF-8"), std::string::npos);
  // The server is unharmed.
  req.mutable_labels()->clear();
  auto ctx2 = Ctx();
  EXPECT_TRUE(stack.workers()->RegisterWorker(ctx2.get(), req, &resp).ok());
}

}  // namespace
}  // namespace lcsweep::testing
