// (Long: one case per RPC behaviour, sharing the loopback stack helpers.)
// The gRPC services end to end: a real server on loopback in this process,
// a real SQLite file, real gRPC stubs.
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include "common/sha256.h"
#include "proto/convert.h"
#include "tests/rpc/rpc_test_util.h"

namespace lcsweep::testing {
namespace {

using grpc::StatusCode;

int64_t Submit(Stack& stack, const std::string& spec, const std::string& token = "") {
  v1::SubmitSweepRequest req;
  req.set_spec_json(spec);
  v1::SubmitSweepResponse resp;
  auto ctx = Ctx(token);
  grpc::Status st = stack.jobs()->SubmitSweep(ctx.get(), req, &resp);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return resp.sweep_id();
}

int64_t Register(v1::WorkerService::Stub* w, const std::string& name, const std::string& token = "") {
  v1::RegisterWorkerRequest req;
  req.set_name(name);
  req.set_hostname("test-host");
  req.set_cores(2);
  v1::RegisterWorkerResponse resp;
  auto ctx = Ctx(token);
  grpc::Status st = w->RegisterWorker(ctx.get(), req, &resp);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return resp.worker_id();
}

std::optional<v1::Lease> Lease(v1::WorkerService::Stub* w, int64_t worker_id, int wait_s = 0,
                               grpc::Status* status = nullptr, const std::string& token = "") {
  v1::LeaseJobRequest req;
  req.set_worker_id(worker_id);
  req.set_has_cpu(true);
  req.set_wait_seconds(wait_s);
  v1::LeaseJobResponse resp;
  auto ctx = Ctx(token, wait_s + 30);
  grpc::Status st = w->LeaseJob(ctx.get(), req, &resp);
  if (status) *status = st;
  EXPECT_TRUE(st.ok() || status) << st.error_message();
  if (!st.ok() || !resp.has_lease()) return std::nullopt;
  return resp.lease();
}

grpc::Status Heartbeat(v1::WorkerService::Stub* w, const std::string& lease_token,
                       v1::HeartbeatResponse* resp = nullptr) {
  v1::HeartbeatRequest req;
  req.set_lease_token(lease_token);
  req.mutable_progress()->set_epoch(1);
  v1::HeartbeatResponse r;
  auto ctx = Ctx();
  grpc::Status st = w->Heartbeat(ctx.get(), req, &r);
  if (resp) *resp = r;
  return st;
}

grpc::Status Report(v1::WorkerService::Stub* w, const std::string& lease_token, int n,
                    int first_step = 0) {
  v1::ReportMetricsRequest req;
  req.set_lease_token(lease_token);
  for (int i = 0; i < n; ++i) {
    v1::MetricPoint* p = req.add_points();
    p->set_name("train.loss");
    p->set_value(1.0 / (first_step + i + 1));
    p->set_step(first_step + i);
  }
  v1::ReportMetricsResponse resp;
  auto ctx = Ctx();
  grpc::Status st = w->ReportMetrics(ctx.get(), req, &resp);
  if (st.ok()) {
    EXPECT_EQ(resp.accepted(), n);
  }
  return st;
}

grpc::Status Complete(v1::WorkerService::Stub* w, const std::string& lease_token,
                      const std::string& result = R"({"test": {"accuracy": 0.5}})") {
  v1::CompleteJobRequest req;
  req.set_lease_token(lease_token);
  req.set_result_json(result);
  v1::CompleteJobResponse resp;
  auto ctx = Ctx();
  return w->CompleteJob(ctx.get(), req, &resp);
}

grpc::Status Upload(v1::WorkerService::Stub* w, const std::string& lease_token,
                    const std::string& bytes, const std::string& sha256, int64_t step,
                    v1::UploadCheckpointResponse* out = nullptr, size_t chunk = 256 << 10) {
  v1::UploadCheckpointResponse resp;
  auto ctx = Ctx();
  auto writer = w->UploadCheckpoint(ctx.get(), &resp);
  v1::UploadCheckpointRequest first;
  auto* m = first.mutable_metadata();
  m->set_lease_token(lease_token);
  m->set_epoch(step / 10);
  m->set_step(step);
  m->set_size_bytes(static_cast<int64_t>(bytes.size()));
  m->set_sha256(sha256);
  if (writer->Write(first)) {
    for (size_t off = 0; off < bytes.size(); off += chunk) {
      v1::UploadCheckpointRequest part;
      part.set_chunk(bytes.substr(off, chunk));
      if (!writer->Write(part)) break;
    }
    writer->WritesDone();
  }
  grpc::Status st = writer->Finish();
  if (out) *out = resp;
  return st;
}

grpc::Status Download(v1::WorkerService::Stub* w, const std::string& lease_token,
                      v1::Checkpoint* meta, std::string* bytes) {
  v1::DownloadCheckpointRequest req;
  req.set_lease_token(lease_token);
  req.set_chunk_bytes(100'000);
  auto ctx = Ctx();
  auto reader = w->DownloadCheckpoint(ctx.get(), req);
  v1::DownloadCheckpointResponse msg;
  bytes->clear();
  while (reader->Read(&msg)) {
    if (msg.has_metadata()) *meta = msg.metadata();
    else bytes->append(msg.chunk());
  }
  return reader->Finish();
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

size_t FilesUnder(const std::string& dir) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       it != std::filesystem::recursive_directory_iterator(); ++it) {
    if (it->is_regular_file()) ++n;
  }
  return n;
}

// ---------------------------------------------------------------------------

TEST(RpcServerTest, SubmitValidSweepThenDedupe) {
  TempDir dir;
  Stack stack(dir.path());
  v1::SubmitSweepRequest req;
  req.set_spec_json(SweepSpec("curve", /*rates=*/3, /*seeds=*/2));
  v1::SubmitSweepResponse resp;
  auto ctx = Ctx();
  ASSERT_TRUE(stack.jobs()->SubmitSweep(ctx.get(), req, &resp).ok());
  EXPECT_GT(resp.sweep_id(), 0);
  EXPECT_EQ(resp.created(), 6);
  EXPECT_EQ(resp.reused(), 0);
  ASSERT_EQ(resp.jobs_size(), 6);
  std::set<int64_t> ids;
  for (const auto& j : resp.jobs()) {
    EXPECT_EQ(j.outcome(), v1::SUBMIT_OUTCOME_CREATED);
    EXPECT_EQ(j.state(), v1::JOB_STATE_QUEUED);
    EXPECT_EQ(j.config_hash().size(), 64u);
    ids.insert(j.job_id());
  }
  EXPECT_EQ(ids.size(), 6u);

  v1::GetSweepRequest gs;
  gs.set_sweep_id(resp.sweep_id());
  v1::GetSweepResponse sweep;
  ctx = Ctx();
  ASSERT_TRUE(stack.jobs()->GetSweep(ctx.get(), gs, &sweep).ok());
  EXPECT_EQ(sweep.sweep().name(), "curve");
  EXPECT_EQ(sweep.sweep().counts().queued(), 6);
  EXPECT_EQ(sweep.sweep().counts().total(), 6);

  v1::ListJobsRequest lj;
  lj.set_sweep_id(resp.sweep_id());
  lj.set_page_size(4);
  v1::ListJobsResponse page;
  ctx = Ctx();
  ASSERT_TRUE(stack.jobs()->ListJobs(ctx.get(), lj, &page).ok());
  EXPECT_EQ(page.jobs_size(), 4);
  EXPECT_EQ(page.total(), 6);
  EXPECT_FALSE(page.next_page_token().empty());
  // The typed summary matches the config.
  std::set<int64_t> rates;
  for (const auto& j : page.jobs()) {
    EXPECT_EQ(j.summary().dataset(), "synthetic");
    EXPECT_EQ(j.summary().epochs(), 1);
    rates.insert(j.summary().lc_rate());
  }
  EXPECT_GE(rates.size(), 2u);

  // The same sweep again: every job reused, nothing created.
  v1::SubmitSweepResponse again;
  ctx = Ctx();
  ASSERT_TRUE(stack.jobs()->SubmitSweep(ctx.get(), req, &again).ok());
  EXPECT_EQ(again.created(), 0);
  EXPECT_EQ(again.reused(), 6);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(again.jobs(i).job_id(), resp.jobs(i).job_id());
    EXPECT_EQ(again.jobs(i).outcome(), v1::SUBMIT_OUTCOME_REUSED);
  }
}

TEST(RpcServerTest, DryRunStoresNothing) {
  TempDir dir;
  Stack stack(dir.path());
  v1::SubmitSweepRequest req;
  req.set_spec_json(SweepSpec("dry", 2, 2));
  req.set_dry_run(true);
  v1::SubmitSweepResponse resp;
  auto ctx = Ctx();
  ASSERT_TRUE(stack.jobs()->SubmitSweep(ctx.get(), req, &resp).ok());
  EXPECT_TRUE(resp.dry_run());
  EXPECT_EQ(resp.sweep_id(), 0);
  ASSERT_EQ(resp.jobs_size(), 4);
  for (const auto& j : resp.jobs()) {
    EXPECT_EQ(j.job_id(), 0);
    EXPECT_FALSE(j.config_json().empty());
    EXPECT_EQ(j.summary().dataset(), "synthetic");
  }
  v1::ListSweepsResponse sweeps;
  ctx = Ctx();
  ASSERT_TRUE(stack.jobs()->ListSweeps(ctx.get(), v1::ListSweepsRequest(), &sweeps).ok());
  EXPECT_EQ(sweeps.sweeps_size(), 0);
}

TEST(RpcServerTest, InvalidSweepListsEveryFieldError) {
  TempDir dir;
  Stack stack(dir.path());
  v1::SubmitSweepRequest req;
  req.set_spec_json(R"({"name": "bad",
      "base": {"model": {"conv": {"intermdiate": "relu"}}, "train": {"epochs": "ten"}},
      "grid": {"model.conv.lc_rate": [1, -2]}})");
  v1::SubmitSweepResponse resp;
  auto ctx = Ctx();
  grpc::Status st = stack.jobs()->SubmitSweep(ctx.get(), req, &resp);
  ASSERT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
  v1::ErrorDetails details = ParseErrorDetails(st);
  std::set<std::string> paths;
  for (const auto& e : details.field_errors()) {
    paths.insert(e.path());
    EXPECT_FALSE(e.expected().empty()) << e.message();
    EXPECT_NE(st.error_message().find(e.path()), std::string::npos)
        << "message lacks " << e.path() << ":\n" << st.error_message();
  }
  EXPECT_EQ(paths.count("base.model.conv.intermdiate"), 1u) << st.error_message();
  EXPECT_EQ(paths.count("base.train.epochs"), 1u) << st.error_message();
  EXPECT_EQ(paths.count(R"(grid["model.conv.lc_rate"][1])"), 1u) << st.error_message();
  EXPECT_GE(details.field_errors_size(), 3);
  // Nothing was stored.
  v1::ListSweepsResponse sweeps;
  ctx = Ctx();
  ASSERT_TRUE(stack.jobs()->ListSweeps(ctx.get(), v1::ListSweepsRequest(), &sweeps).ok());
  EXPECT_EQ(sweeps.sweeps_size(), 0);

  // Not JSON at all: still INVALID_ARGUMENT with a document-level error.
  req.set_spec_json("{not json");
  ctx = Ctx();
  st = stack.jobs()->SubmitSweep(ctx.get(), req, &resp);
  ASSERT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_GE(ParseErrorDetails(st).field_errors_size(), 1);
}

TEST(RpcServerTest, AuthMatrix) {
  TempDir dir;
  StackOptions opts;
  opts.auth = true;
  Stack stack(dir.path(), opts);
  auto jobs = stack.jobs();
  auto workers = stack.workers();

  auto list_sweeps = [&](const std::string& token) {
    v1::ListSweepsResponse r;
    auto ctx = Ctx(token);
    return jobs->ListSweeps(ctx.get(), v1::ListSweepsRequest(), &r).error_code();
  };
  auto submit = [&](const std::string& token) {
    v1::SubmitSweepRequest req;
    req.set_spec_json(SweepSpec("auth-" + token.substr(0, 5), 1, 1));
    v1::SubmitSweepResponse r;
    auto ctx = Ctx(token);
    return jobs->SubmitSweep(ctx.get(), req, &r).error_code();
  };
  auto cancel = [&](const std::string& token) {
    v1::CancelJobRequest req;
    req.set_job_id(987654);
    v1::CancelJobResponse r;
    auto ctx = Ctx(token);
    return jobs->CancelJob(ctx.get(), req, &r).error_code();
  };
  auto register_worker = [&](const std::string& token) {
    v1::RegisterWorkerRequest req;
    req.set_name("w-" + token.substr(0, 5));
    v1::RegisterWorkerResponse r;
    auto ctx = Ctx(token);
    return workers->RegisterWorker(ctx.get(), req, &r).error_code();
  };
  auto heartbeat = [&](const std::string& token) {
    v1::HeartbeatRequest req;
    req.set_lease_token("no-such-lease");
    v1::HeartbeatResponse r;
    auto ctx = Ctx(token);
    return workers->Heartbeat(ctx.get(), req, &r).error_code();
  };

  // Missing and wrong tokens: UNAUTHENTICATED everywhere.
  for (const std::string& bad : {std::string(), std::string("wrong-token-0123456789abcdef")}) {
    EXPECT_EQ(list_sweeps(bad), StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(submit(bad), StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(register_worker(bad), StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(heartbeat(bad), StatusCode::UNAUTHENTICATED);
  }
  {  // A malformed header (no "Bearer ").
    v1::ListSweepsResponse r;
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", kAdminToken);
    EXPECT_EQ(jobs->ListSweeps(&ctx, v1::ListSweepsRequest(), &r).error_code(),
              StatusCode::UNAUTHENTICATED);
  }
  // Worker token on JobService: PERMISSION_DENIED, reads and mutations.
  EXPECT_EQ(list_sweeps(kWorkerToken), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(submit(kWorkerToken), StatusCode::PERMISSION_DENIED);
  // Read-only token: reads fine, mutations PERMISSION_DENIED, no WorkerService.
  EXPECT_EQ(list_sweeps(kReadOnlyToken), StatusCode::OK);
  EXPECT_EQ(submit(kReadOnlyToken), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(cancel(kReadOnlyToken), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(register_worker(kReadOnlyToken), StatusCode::PERMISSION_DENIED);
  // Client token: JobService yes, WorkerService no.
  EXPECT_EQ(submit(kClientToken), StatusCode::OK);
  EXPECT_EQ(cancel(kClientToken), StatusCode::NOT_FOUND);  // authorised; the job does not exist
  EXPECT_EQ(register_worker(kClientToken), StatusCode::PERMISSION_DENIED);
  // Worker token on WorkerService: authorised (the lease is unknown).
  EXPECT_EQ(register_worker(kWorkerToken), StatusCode::OK);
  EXPECT_EQ(heartbeat(kWorkerToken), StatusCode::FAILED_PRECONDITION);
  // Admin: everything.
  EXPECT_EQ(list_sweeps(kAdminToken), StatusCode::OK);
  EXPECT_EQ(submit(kAdminToken), StatusCode::OK);
  EXPECT_EQ(register_worker(kAdminToken), StatusCode::OK);
}

// 64 workers lease at once through real gRPC: no job is handed out twice,
// no call fails (in particular not with "database is locked").
TEST(RpcServerTest, SixtyFourConcurrentWorkersNeverShareAJob) {
  TempDir dir;
  Stack stack(dir.path());
  const int kWorkers = 64;
  Submit(stack, SweepSpec("many", /*rates=*/12, /*seeds=*/16));  // 192 jobs
  std::mutex mu;
  std::map<int64_t, int> lease_count;
  std::vector<std::string> errors;
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kWorkers; ++t) {
    threads.emplace_back([&, t] {
      auto w = stack.workers();
      int64_t id = Register(w.get(), "w" + std::to_string(t));
      ready.fetch_add(1);
      while (ready.load() < kWorkers) std::this_thread::yield();
      while (true) {
        grpc::Status st;
        std::optional<v1::Lease> lease = Lease(w.get(), id, 0, &st);
        if (!st.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          errors.push_back("lease: " + st.error_message());
          return;
        }
        if (!lease) return;
        {
          std::lock_guard<std::mutex> lock(mu);
          ++lease_count[lease->job().id()];
        }
        for (const grpc::Status& s : {Heartbeat(w.get(), lease->lease_token()),
                                      Report(w.get(), lease->lease_token(), 20),
                                      Complete(w.get(), lease->lease_token())}) {
          if (!s.ok()) {
            std::lock_guard<std::mutex> lock(mu);
            errors.push_back(s.error_message());
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& e : errors) ADD_FAILURE() << e;
  EXPECT_EQ(lease_count.size(), 192u);
  for (const auto& [job, n] : lease_count) EXPECT_EQ(n, 1) << "job " << job << " leased " << n << "x";
  v1::ListJobsRequest lj;
  lj.add_states(v1::JOB_STATE_SUCCEEDED);
  v1::ListJobsResponse r;
  auto ctx = Ctx();
  ASSERT_TRUE(stack.jobs()->ListJobs(ctx.get(), lj, &r).ok());
  EXPECT_EQ(r.total(), 192);
}

TEST(RpcServerTest, StaleTokenIsRefusedOnEveryWorkerCall) {
  TempDir dir;
  Stack stack(dir.path());
  Submit(stack, SweepSpec("stale", 1, 1));
  auto w = stack.workers();
  int64_t a = Register(w.get(), "a");
  int64_t b = Register(w.get(), "b");
  std::optional<v1::Lease> first = Lease(w.get(), a);
  ASSERT_TRUE(first);
  {  // Worker a drains: the lease moves on.
    v1::ReleaseJobRequest req;
    req.set_lease_token(first->lease_token());
    v1::ReleaseJobResponse resp;
    auto ctx = Ctx();
    ASSERT_TRUE(w->ReleaseJob(ctx.get(), req, &resp).ok());
  }
  std::optional<v1::Lease> second = Lease(w.get(), b);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->job().id(), first->job().id());
  EXPECT_EQ(second->job().attempt(), first->job().attempt()) << "a release is not an attempt";
  const std::string old = first->lease_token();
  EXPECT_EQ(Heartbeat(w.get(), old).error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Report(w.get(), old, 3).error_code(), StatusCode::FAILED_PRECONDITION);
  std::string bytes = "checkpoint";
  EXPECT_EQ(Upload(w.get(), old, bytes, Sha256Hex(bytes), 1).error_code(),
            StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Complete(w.get(), old).error_code(), StatusCode::FAILED_PRECONDITION);
  // The live lease is untouched by the zombie's calls.
  EXPECT_TRUE(Heartbeat(w.get(), second->lease_token()).ok());
  EXPECT_TRUE(Complete(w.get(), second->lease_token()).ok());
  v1::GetJobRequest gj;
  gj.set_job_id(second->job().id());
  v1::GetJobResponse job;
  auto ctx = Ctx();
  ASSERT_TRUE(stack.jobs()->GetJob(ctx.get(), gj, &job).ok());
  EXPECT_EQ(job.job().state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(job.job().worker_id(), b);
}

TEST(RpcServerTest, ExpiredLeaseIsReapedAndItsTokenGoesStale) {
  TempDir dir;
  StackOptions opts;
  opts.lease_ttl_ms = 300;
  opts.reap_interval_ms = 50;
  Stack stack(dir.path(), opts);
  Submit(stack, SweepSpec("expire", 1, 1));
  auto w = stack.workers();
  int64_t a = Register(w.get(), "a");
  std::optional<v1::Lease> lease = Lease(w.get(), a);
  ASSERT_TRUE(lease);
  std::this_thread::sleep_for(std::chrono::milliseconds(900));
  EXPECT_EQ(Heartbeat(w.get(), lease->lease_token()).error_code(), StatusCode::FAILED_PRECONDITION);
  std::optional<v1::Lease> again = Lease(w.get(), a);
  ASSERT_TRUE(again) << "the reaper should have requeued the job";
  EXPECT_EQ(again->job().id(), lease->job().id());
  EXPECT_EQ(again->job().attempt(), lease->job().attempt() + 1);
}

TEST(RpcServerTest, CheckpointRoundTripVerifiedAndPruned) {
  TempDir dir;
  Stack stack(dir.path());  // keeps the newest 2 per job
  Submit(stack, SweepSpec("ckpt", 1, 1));
  auto w = stack.workers();
  int64_t a = Register(w.get(), "a");
  std::optional<v1::Lease> lease = Lease(w.get(), a);
  ASSERT_TRUE(lease);
  const std::string token = lease->lease_token();
  const std::string ckdir = dir.path() + "/artifacts/checkpoints";

  // No checkpoint yet.
  v1::Checkpoint meta;
  std::string got;
  EXPECT_EQ(Download(w.get(), token, &meta, &got).error_code(), StatusCode::NOT_FOUND);

  // A wrong digest is refused and leaves nothing behind.
  std::string bytes = RandomBytes(3 << 20, 1);
  std::string wrong = Sha256Hex(bytes + "x");
  grpc::Status st = Upload(w.get(), token, bytes, wrong, 10);
  EXPECT_EQ(st.error_code(), StatusCode::DATA_LOSS);
  EXPECT_NE(st.error_message().find("SHA-256 mismatch"), std::string::npos) << st.error_message();
  EXPECT_EQ(FilesUnder(dir.path() + "/artifacts"), 0u);
  // Fewer bytes than declared: refused too.
  v1::UploadCheckpointResponse up;
  {
    v1::UploadCheckpointResponse resp;
    auto ctx = Ctx();
    auto writer = w->UploadCheckpoint(ctx.get(), &resp);
    v1::UploadCheckpointRequest first;
    first.mutable_metadata()->set_lease_token(token);
    first.mutable_metadata()->set_size_bytes(100);
    first.mutable_metadata()->set_sha256(Sha256Hex(std::string(100, 'a')));
    writer->Write(first);
    v1::UploadCheckpointRequest part;
    part.set_chunk(std::string(50, 'a'));
    writer->Write(part);
    writer->WritesDone();
    EXPECT_EQ(writer->Finish().error_code(), StatusCode::DATA_LOSS);
  }

  // Three good uploads: the newest two stay, downloads return the newest.
  std::vector<std::string> payloads = {RandomBytes(3 << 20, 2), RandomBytes(1 << 20, 3),
                                       RandomBytes((2 << 20) + 12345, 4)};
  for (size_t i = 0; i < payloads.size(); ++i) {
    st = Upload(w.get(), token, payloads[i], Sha256Hex(payloads[i]), 10 * (i + 1), &up);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(up.checkpoint().sha256(), Sha256Hex(payloads[i]));
    EXPECT_EQ(up.checkpoint().size_bytes(), static_cast<int64_t>(payloads[i].size()));
    EXPECT_EQ(up.checkpoint().job_id(), lease->job().id());
  }
  EXPECT_EQ(FilesUnder(ckdir), 2u);
  st = Download(w.get(), token, &meta, &got);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(meta.step(), 30);
  EXPECT_EQ(meta.sha256(), Sha256Hex(payloads[2]));
  EXPECT_TRUE(got == payloads[2]) << "downloaded " << got.size() << " bytes";

  // GetJob shows the newest checkpoint; a new lease after release resumes from it.
  v1::ReleaseJobRequest rel;
  rel.set_lease_token(token);
  v1::ReleaseJobResponse rr;
  auto ctx = Ctx();
  ASSERT_TRUE(w->ReleaseJob(ctx.get(), rel, &rr).ok());
  std::optional<v1::Lease> resumed = Lease(w.get(), a);
  ASSERT_TRUE(resumed);
  EXPECT_TRUE(resumed->has_resume_from());
  EXPECT_EQ(resumed->resume_from().sha256(), Sha256Hex(payloads[2]));
  st = Download(w.get(), resumed->lease_token(), &meta, &got);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(got == payloads[2]);
}

TEST(RpcServerTest, OversizedMessagesAreRefusedClearly) {
  TempDir dir;
  StackOptions opts;
  opts.max_message_bytes = 1 << 20;
  Stack stack(dir.path(), opts);
  Submit(stack, SweepSpec("big", 1, 1));
  auto w = stack.workers();
  int64_t a = Register(w.get(), "a");
  std::optional<v1::Lease> lease = Lease(w.get(), a);
  ASSERT_TRUE(lease);
  grpc::Status st = Report(w.get(), lease->lease_token(), 100'000);  // ~2.5 MB
  EXPECT_EQ(st.error_code(), StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  EXPECT_NE(st.error_message().find("larger than max"), std::string::npos) << st.error_message();
  // A big spec document, too.
  v1::SubmitSweepRequest req;
  req.set_spec_json(SweepSpec("big2", 1, 1) + std::string(2 << 20, ' '));
  v1::SubmitSweepResponse resp;
  auto ctx = Ctx();
  st = stack.jobs()->SubmitSweep(ctx.get(), req, &resp);
  EXPECT_EQ(st.error_code(), StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  // The server keeps serving normal calls.
  EXPECT_TRUE(Report(w.get(), lease->lease_token(), 100).ok());
}

TEST(RpcServerTest, LongPollLeaseWakesOnSubmit) {
  TempDir dir;
  Stack stack(dir.path());
  auto w = stack.workers();
  int64_t a = Register(w.get(), "a");
  auto start = std::chrono::steady_clock::now();
  // Nothing queued: a zero wait answers at once without a lease.
  EXPECT_FALSE(Lease(w.get(), a, 0));
  std::optional<v1::Lease> got;
  std::thread poller([&] { got = Lease(w.get(), a, /*wait_s=*/20); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Submit(stack, SweepSpec("late", 1, 1));
  poller.join();
  double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(got);
  EXPECT_LT(waited, 5.0) << "the long poll should return as soon as a job is queued";
}

TEST(RpcServerTest, WatchJobStreamsUntilTheJobFinishes) {
  TempDir dir;
  Stack stack(dir.path());
  Submit(stack, SweepSpec("watch", 1, 1));
  auto w = stack.workers();
  int64_t a = Register(w.get(), "a");
  std::optional<v1::Lease> lease = Lease(w.get(), a);
  ASSERT_TRUE(lease);
  std::vector<v1::WatchResponse> seen;
  grpc::Status watch_status;
  std::atomic<bool> started{false};
  std::thread watcher([&] {
    v1::WatchJobRequest req;
    req.set_job_id(lease->job().id());
    req.set_include_metrics(true);
    req.set_include_events(true);
    auto ctx = Ctx("", 30);
    auto reader = stack.jobs()->WatchJob(ctx.get(), req);
    v1::WatchResponse msg;
    while (reader->Read(&msg)) {
      seen.push_back(msg);
      started = true;
    }
    watch_status = reader->Finish();
  });
  while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(Report(w.get(), lease->lease_token(), 5).ok());
  ASSERT_TRUE(Complete(w.get(), lease->lease_token()).ok());
  watcher.join();
  EXPECT_TRUE(watch_status.ok()) << watch_status.error_message();
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.front().job().state(), v1::JOB_STATE_RUNNING);
  bool succeeded = false, leased_event = false;
  size_t points = 0;
  for (const auto& m : seen) {
    if (m.has_job() && m.job().state() == v1::JOB_STATE_SUCCEEDED) succeeded = true;
    if (m.has_event() && m.event().to_state() == v1::JOB_STATE_RUNNING) leased_event = true;
    if (m.has_metrics()) points += m.metrics().points_size();
  }
  EXPECT_TRUE(succeeded);
  EXPECT_TRUE(leased_event);
  EXPECT_GE(points, 5u);
}

TEST(RpcServerTest, CancelReachesTheWorkerOnItsNextHeartbeat) {
  TempDir dir;
  Stack stack(dir.path());
  int64_t sweep = Submit(stack, SweepSpec("cancel", 1, 2));
  auto w = stack.workers();
  int64_t a = Register(w.get(), "a");
  std::optional<v1::Lease> lease = Lease(w.get(), a);
  ASSERT_TRUE(lease);
  v1::CancelSweepRequest req;
  req.set_sweep_id(sweep);
  v1::CancelSweepResponse resp;
  auto ctx = Ctx();
  ASSERT_TRUE(stack.jobs()->CancelSweep(ctx.get(), req, &resp).ok());
  EXPECT_EQ(resp.cancelled() + resp.cancel_requested(), 2);
  v1::HeartbeatResponse hb;
  ASSERT_TRUE(Heartbeat(w.get(), lease->lease_token(), &hb).ok());
  EXPECT_TRUE(hb.cancel_requested());
  EXPECT_EQ(Heartbeat(w.get(), lease->lease_token()).error_code(), StatusCode::FAILED_PRECONDITION);
}

TEST(RpcServerTest, MetricsAndResultsReadBack) {
  TempDir dir;
  Stack stack(dir.path());
  int64_t sweep = Submit(stack, SweepSpec("results", 1, 3));
  auto w = stack.workers();
  int64_t a = Register(w.get(), "a");
  std::vector<double> acc = {0.5, 0.6, 0.7};
  int64_t first_job = 0;
  for (double v : acc) {
    std::optional<v1::Lease> lease = Lease(w.get(), a);
    ASSERT_TRUE(lease);
    if (!first_job) first_job = lease->job().id();
    ASSERT_TRUE(Report(w.get(), lease->lease_token(), 7).ok());
    ASSERT_TRUE(Complete(w.get(), lease->lease_token(),
                         R"({"test": {"accuracy": )" + std::to_string(v) + "}}")
                    .ok());
  }
  v1::GetMetricsRequest mr;
  mr.set_job_id(first_job);
  v1::GetMetricsResponse metrics;
  auto ctx = Ctx();
  ASSERT_TRUE(stack.jobs()->GetMetrics(ctx.get(), mr, &metrics).ok());
  ASSERT_EQ(metrics.series_size(), 1);
  EXPECT_EQ(metrics.series(0).name(), "train.loss");
  EXPECT_EQ(metrics.series(0).points_size(), 7);
  EXPECT_EQ(metrics.series(0).points(3).step(), 3);

  v1::GetResultsRequest rr;
  rr.set_sweep_id(sweep);
  v1::GetResultsResponse results;
  ctx = Ctx();
  ASSERT_TRUE(stack.jobs()->GetResults(ctx.get(), rr, &results).ok());
  ASSERT_EQ(results.groups_size(), 1);
  const auto& fig = results.groups(0).figures().at("test.accuracy");
  EXPECT_EQ(fig.n(), 3);
  EXPECT_NEAR(fig.mean(), 0.6, 1e-9);
  EXPECT_NEAR(fig.std(), 0.1, 1e-9);  // sample std of 0.5, 0.6, 0.7
  EXPECT_EQ(results.pending_jobs(), 0);

  v1::ListWorkersResponse workers;
  ctx = Ctx();
  ASSERT_TRUE(stack.jobs()->ListWorkers(ctx.get(), v1::ListWorkersRequest(), &workers).ok());
  ASSERT_EQ(workers.workers_size(), 1);
  EXPECT_EQ(workers.workers(0).name(), "a");
  EXPECT_TRUE(workers.workers(0).alive());

  v1::ListEventsRequest er;
  er.set_job_id(first_job);
  v1::ListEventsResponse events;
  ctx = Ctx();
  ASSERT_TRUE(stack.jobs()->ListEvents(ctx.get(), er, &events).ok());
  ASSERT_GE(events.events_size(), 3);  // submitted, leased, completed
  EXPECT_EQ(events.events(events.events_size() - 1).to_state(), v1::JOB_STATE_SUCCEEDED);
}

TEST(RpcServerTest, HealthServiceReportsServing) {
  TempDir dir;
  Stack stack(dir.path());
  // grpc.health.v1.Health/Check with an empty HealthCheckRequest; the reply
  // HealthCheckResponse{status: SERVING=1} is the two bytes 08 01.
  grpc::GenericStub generic(stack.channel());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::ByteBuffer request, reply;
  grpc::Slice empty("");
  request = grpc::ByteBuffer(&empty, 1);
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  generic.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &reply,
                    [&](grpc::Status s) {
                      std::lock_guard<std::mutex> lock(mu);
                      status = s;
                      done = true;
                      cv.notify_one();
                    });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(reply.Dump(&slices).ok());
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_EQ(bytes, std::string("\x08\x01", 2));
}

TEST(RpcServerTest, ReflectionListsBothServices) {
  TempDir dir;
  Stack stack(dir.path());
  // ServerReflectionInfo with ServerReflectionRequest{list_services: ""}
  // (field 7, length 0: bytes 3a 00), over the generic async API.
  grpc::GenericStub generic(stack.channel());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::CompletionQueue cq;
  auto call = generic.PrepareCall(
      &ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag = nullptr;
  bool ok = false;
  auto step = [&](intptr_t want) {
    EXPECT_TRUE(cq.Next(&tag, &ok));
    EXPECT_EQ(reinterpret_cast<intptr_t>(tag), want);
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(step(1));
  grpc::Slice req_slice(std::string("\x3a\x00", 2));
  grpc::ByteBuffer request(&req_slice, 1);
  call->Write(request, reinterpret_cast<void*>(2));
  ASSERT_TRUE(step(2));
  call->WritesDone(reinterpret_cast<void*>(3));
  ASSERT_TRUE(step(3));
  grpc::ByteBuffer reply;
  call->Read(&reply, reinterpret_cast<void*>(4));
  ASSERT_TRUE(step(4));
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  step(5);
  EXPECT_TRUE(status.ok()) << status.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(reply.Dump(&slices).ok());
  std::string bytes;
  for (const auto& sl : slices) bytes.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
  EXPECT_NE(bytes.find("lcsweep.v1.JobService"), std::string::npos);
  EXPECT_NE(bytes.find("lcsweep.v1.WorkerService"), std::string::npos);
  EXPECT_NE(bytes.find("grpc.health.v1.Health"), std::string::npos);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

TEST(RpcServerTest, TlsWhenCertificateAndKeyAreConfigured) {
  TempDir dir;
  const std::string cert = dir.file("cert.pem"), key = dir.file("key.pem");
  std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
                    "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " + key +
                    " -out " + cert + " >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "the openssl command is not available";
  StackOptions opts;
  opts.tls_cert_file = cert;
  opts.tls_key_file = key;
  Stack stack(dir.path(), opts);
  ASSERT_NE(stack.server(), nullptr);
  std::ifstream in(cert);
  std::stringstream pem;
  pem << in.rdbuf();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = pem.str();
  auto secure = v1::JobService::NewStub(
      grpc::CreateChannel(stack.server()->address(), grpc::SslCredentials(ssl)));
  v1::ListSweepsResponse resp;
  auto ctx = Ctx("", 10);
  grpc::Status st = secure->ListSweeps(ctx.get(), v1::ListSweepsRequest(), &resp);
  EXPECT_TRUE(st.ok()) << st.error_message();
  // A plaintext client cannot talk to the TLS port.
  ctx = Ctx("", 5);
  EXPECT_FALSE(stack.jobs()->ListSweeps(ctx.get(), v1::ListSweepsRequest(), &resp).ok());
  // A certificate without its key is refused at start.
  rpc::RpcServerOptions ro;
  ro.listen = "127.0.0.1:0";
  ro.artifacts_dir = dir.file("art2");
  ro.tls_cert_file = cert;
  EXPECT_EQ(rpc::RpcServer::Start(stack.coordinator(), SystemClock::Get(), ro).status().code(),
            lcsweep::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lcsweep::testing

namespace lcsweep::testing {
namespace {

// Metric lineage over the wire: a job leased again without a checkpoint
// starts over, so the first lease's points leave the live series (GetMetrics
// by default) but stay stored (include_superseded, flagged).
TEST(RpcServerTest, ReLeaseSupersedesPointsTheNewAttemptReportsAgain) {
  TempDir dir;
  Stack stack(dir.path());
  Submit(stack, SweepSpec("lineage", 1, 1));
  auto w = stack.workers();
  int64_t a = Register(w.get(), "a");
  std::optional<v1::Lease> first = Lease(w.get(), a);
  ASSERT_TRUE(first);
  ASSERT_TRUE(Report(w.get(), first->lease_token(), 6).ok());
  {
    v1::ReleaseJobRequest req;
    req.set_lease_token(first->lease_token());
    v1::ReleaseJobResponse resp;
    auto ctx = Ctx();
    ASSERT_TRUE(w->ReleaseJob(ctx.get(), req, &resp).ok());
  }
  std::optional<v1::Lease> second = Lease(w.get(), a);
  ASSERT_TRUE(second);
  ASSERT_FALSE(second->has_resume_from()) << "no checkpoint was uploaded";
  ASSERT_TRUE(Report(w.get(), second->lease_token(), 3).ok());

  auto get = [&](bool all) {
    v1::GetMetricsRequest mr;
    mr.set_job_id(first->job().id());
    mr.set_include_superseded(all);
    v1::GetMetricsResponse metrics;
    auto ctx = Ctx();
    EXPECT_TRUE(stack.jobs()->GetMetrics(ctx.get(), mr, &metrics).ok());
    return metrics;
  };
  v1::GetMetricsResponse live = get(false);
  ASSERT_EQ(live.series_size(), 1);
  ASSERT_EQ(live.series(0).points_size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(live.series(0).points(i).step(), i);
    EXPECT_FALSE(live.series(0).points(i).superseded());
  }
  v1::GetMetricsResponse all = get(true);
  ASSERT_EQ(all.series_size(), 1);
  ASSERT_EQ(all.series(0).points_size(), 9);
  int superseded = 0;
  for (const auto& p : all.series(0).points()) superseded += p.superseded() ? 1 : 0;
  EXPECT_EQ(superseded, 6) << "every point of the first lease, none of the second";
}

}  // namespace
}  // namespace lcsweep::testing
