// Round trips between core records and lcsweep.v1 messages (through the wire
// encoding), status mapping, and the JSON -> summary view.
#include <gtest/gtest.h>
#include <google/protobuf/util/message_differencer.h>

#include "common/job_config_json.h"
#include "proto/convert.h"
#include "server/rpc/convert.h"

namespace lcsweep::rpc {
namespace {

// Serialises and parses again, so the round trip covers the wire format.
template <typename M>
M Wire(const M& m) {
  std::string bytes;
  EXPECT_TRUE(m.SerializeToString(&bytes));
  M out;
  EXPECT_TRUE(out.ParseFromString(bytes));
  return out;
}

JobRecord SampleJob() {
  JobConfig c;
  c.seed = 3;
  c.data.name = "cifar10";
  c.model.conv.lc_rate = 64;
  c.model.kernel_size = 5;
  c.train.epochs = 12;
  c.resources.device = "cuda";
  c.resources.min_gpu_memory_gb = 7.5;
  JobRecord j;
  j.id = 42;
  j.sweep_ids = {3, 9};
  j.config_json = CanonicalJobJson(c);
  j.hash = JobConfigHash(c);
  j.group_hash = JobGroupHash(c);
  j.axes_json = R"({"model.conv.lc_rate":64})";
  j.state = JobState::kRunning;
  j.priority = 5;
  j.attempt = 2;
  j.max_attempts = 4;
  j.lease_owner = 7;
  j.lease_expiry_ms = 1'700'000'060'000;
  j.requirements.device = "cuda";
  j.requirements.min_gpu_memory_gb = 7.5;
  j.created_ms = 1'700'000'000'000;
  j.queued_ms = 1'700'000'000'001;
  j.started_ms = 1'700'000'000'002;
  j.finished_ms = 0;
  j.updated_ms = 1'700'000'000'003;
  j.error = "out of memory";
  j.retryable = true;
  j.result_json = "";
  j.progress.epoch = 4;
  j.progress.step = 1234;
  j.progress.metrics = {{"train.loss", 0.25}, {"test.accuracy", 0.875}};
  j.progress.updated_ms = 1'700'000'000'004;
  return j;
}

TEST(ConvertTest, StatusCodesMapOneToOne) {
  for (int code = 0; code <= 16; ++code) {
    Status s(static_cast<StatusCode>(code), code == 0 ? "" : "msg " + std::to_string(code));
    grpc::Status g = ToGrpcStatus(s);
    EXPECT_EQ(static_cast<int>(g.error_code()), code);
    Status back = FromGrpcStatus(g);
    EXPECT_EQ(back.code(), s.code());
    EXPECT_EQ(back.message(), s.message());
  }
}

TEST(ConvertTest, JobStatesRoundTrip) {
  for (int i = 0; i < kNumJobStates; ++i) {
    JobState s = static_cast<JobState>(i);
    EXPECT_EQ(FromProto(ToProto(s)), s);
    EXPECT_EQ(JobStateName(ToProto(s)), std::string(JobStateName(s)));
    EXPECT_EQ(StateFromName(JobStateName(s)), ToProto(s));
  }
  EXPECT_FALSE(FromProto(v1::JOB_STATE_UNSPECIFIED));
  EXPECT_EQ(StateFromName(""), v1::JOB_STATE_UNSPECIFIED);
  EXPECT_FALSE(JobStateFromName("paused"));
}

TEST(ConvertTest, JobRoundTripKeepsEveryField) {
  JobRecord j = SampleJob();
  v1::Job p;
  ToProto(j, &p);
  JobRecord back = FromProto(Wire(p));
  EXPECT_EQ(back.id, j.id);
  EXPECT_EQ(back.sweep_ids, j.sweep_ids);
  EXPECT_EQ(back.config_json, j.config_json);
  EXPECT_EQ(back.hash, j.hash);
  EXPECT_EQ(back.group_hash, j.group_hash);
  EXPECT_EQ(back.axes_json, j.axes_json);
  EXPECT_EQ(back.state, j.state);
  EXPECT_EQ(back.priority, j.priority);
  EXPECT_EQ(back.attempt, j.attempt);
  EXPECT_EQ(back.max_attempts, j.max_attempts);
  EXPECT_EQ(back.lease_owner, j.lease_owner);
  EXPECT_EQ(back.lease_expiry_ms, j.lease_expiry_ms);
  EXPECT_EQ(back.requirements.device, "cuda");
  EXPECT_EQ(back.requirements.min_gpu_memory_gb, 7.5);
  EXPECT_EQ(back.created_ms, j.created_ms);
  EXPECT_EQ(back.queued_ms, j.queued_ms);
  EXPECT_EQ(back.started_ms, j.started_ms);
  EXPECT_EQ(back.finished_ms, j.finished_ms);
  EXPECT_EQ(back.updated_ms, j.updated_ms);
  EXPECT_EQ(back.error, j.error);
  EXPECT_EQ(back.retryable, j.retryable);
  EXPECT_EQ(back.result_json, j.result_json);
  EXPECT_EQ(back.progress.epoch, j.progress.epoch);
  EXPECT_EQ(back.progress.step, j.progress.step);
  EXPECT_EQ(back.progress.metrics, j.progress.metrics);
  EXPECT_EQ(back.progress.updated_ms, j.progress.updated_ms);
  EXPECT_TRUE(back.lease_token.empty()) << "the fencing token never leaves in a Job";
}

TEST(ConvertTest, SummaryFromJsonMatchesSummaryFromConfig) {
  // Two independent paths: the typed struct, and the canonical JSON text.
  JobConfig c;
  c.seed = 11;
  c.data.name = "svhn";
  c.model.depth = 56;
  c.model.width = 32;
  c.model.kernel_size = 7;
  c.model.conv.mode = "lc";
  c.model.conv.lc_rate = 16;
  c.model.conv.spatial = "learned";
  c.model.conv.init = "orthogonal";
  c.model.conv.intermediate = "bn_relu";
  c.model.conv.execution = "unfolded";
  c.train.epochs = 30;
  c.resources.device = "cpu";
  v1::JobSummary direct = SummaryFromConfig(c);
  v1::JobSummary via_json = SummaryFromConfigJson(CanonicalJobJson(c));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(direct, via_json))
      << direct.DebugString() << "\nvs\n" << via_json.DebugString();
  EXPECT_EQ(direct.lc_rate(), 16);
  EXPECT_EQ(direct.spatial(), "learned");
  EXPECT_EQ(direct.intermediate(), "bn_relu");
  // Missing keys take the defaults; garbage gives the default config's summary.
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      SummaryFromConfigJson("{}"), SummaryFromConfig(JobConfig())));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      SummaryFromConfigJson("not json"), SummaryFromConfig(JobConfig())));
}

TEST(ConvertTest, WorkerMetricEventCheckpointResultRoundTrips) {
  v1::RegisterWorkerRequest reg;
  reg.set_name("gpu-box-1");
  reg.set_hostname("node17");
  reg.set_cores(32);
  reg.set_slots(4);
  auto* d = reg.add_devices();
  d->set_kind("cuda");
  d->set_name("NVIDIA H100");
  d->set_memory_gb(80);
  (*reg.mutable_versions())["libtorch"] = "2.1.0";
  (*reg.mutable_labels())["rack"] = "b2";
  WorkerRecord w = FromProto(Wire(reg));
  w.id = 9;
  w.registered_ms = 100;
  w.last_seen_ms = 1000;
  w.current_jobs = {4, 5};
  v1::Worker pw;
  ToProto(w, /*now_ms=*/1500, /*lease_ttl_ms=*/600, &pw);
  pw = Wire(pw);
  EXPECT_EQ(pw.id(), 9);
  EXPECT_EQ(pw.name(), "gpu-box-1");
  EXPECT_EQ(pw.hostname(), "node17");
  EXPECT_EQ(pw.cores(), 32);
  EXPECT_EQ(pw.slots(), 4);
  ASSERT_EQ(pw.devices_size(), 1);
  EXPECT_EQ(pw.devices(0).kind(), "cuda");
  EXPECT_EQ(pw.devices(0).memory_gb(), 80);
  EXPECT_EQ(pw.versions().at("libtorch"), "2.1.0");
  EXPECT_EQ(pw.labels().at("rack"), "b2");
  EXPECT_EQ(pw.job_ids_size(), 2);
  EXPECT_TRUE(pw.alive());
  ToProto(w, /*now_ms=*/1601, /*lease_ttl_ms=*/600, &pw);
  EXPECT_FALSE(pw.alive());

  MetricPoint m{/*job_id=*/4, /*attempt=*/2, /*step=*/77, /*epoch=*/3, "test.accuracy", 0.9125, 55};
  v1::MetricPoint pm;
  ToProto(m, &pm);
  MetricPoint mb = FromProto(Wire(pm), 4);
  EXPECT_EQ(mb.job_id, 4);
  EXPECT_EQ(mb.attempt, 2);
  EXPECT_EQ(mb.step, 77);
  EXPECT_EQ(mb.epoch, 3);
  EXPECT_EQ(mb.name, m.name);
  EXPECT_EQ(mb.value, m.value);
  EXPECT_EQ(mb.time_ms, 55);

  for (const char* from : {"", "queued", "running"}) {
    Event e{/*id=*/8, /*job_id=*/4, /*attempt=*/2, from, "failed", "lease expired", 9, 1234};
    v1::Event pe;
    ToProto(e, &pe);
    Event eb = FromProto(Wire(pe));
    EXPECT_EQ(eb.id, 8);
    EXPECT_EQ(eb.job_id, 4);
    EXPECT_EQ(eb.attempt, 2);
    EXPECT_EQ(eb.from_state, from);
    EXPECT_EQ(eb.to_state, "failed");
    EXPECT_EQ(eb.reason, "lease expired");
    EXPECT_EQ(eb.worker_id, 9);
    EXPECT_EQ(eb.time_ms, 1234);
  }

  CheckpointMeta c{/*id=*/5, /*job_id=*/4, /*attempt=*/1, /*epoch=*/2, /*step=*/300,
                   std::string(64, 'a'), 1 << 20, "/secret/path", 999};
  v1::Checkpoint pc;
  ToProto(c, &pc);
  EXPECT_EQ(pc.DebugString().find("/secret/path"), std::string::npos) << "paths stay server-side";
  CheckpointMeta cb = FromProto(Wire(pc));
  EXPECT_EQ(cb.id, 5);
  EXPECT_EQ(cb.job_id, 4);
  EXPECT_EQ(cb.attempt, 1);
  EXPECT_EQ(cb.epoch, 2);
  EXPECT_EQ(cb.step, 300);
  EXPECT_EQ(cb.sha256, c.sha256);
  EXPECT_EQ(cb.size_bytes, 1 << 20);
  EXPECT_EQ(cb.time_ms, 999);

  ResultGroup g;
  g.group_hash = "abc";
  g.axes_json = R"({"model.conv.lc_rate":8})";
  g.job_ids = {1, 2, 3};
  g.seeds = {0, 1};
  g.n_succeeded = 2;
  g.figures["test.accuracy"] = {0.9, 0.01, 2};
  g.figures["eval.fgsm[eps=0.00392157].accuracy"] = {0.4, 0.02, 2};
  v1::ResultGroup pg;
  ToProto(g, &pg);
  ResultGroup gb = FromProto(Wire(pg));
  EXPECT_EQ(gb.group_hash, g.group_hash);
  EXPECT_EQ(gb.axes_json, g.axes_json);
  EXPECT_EQ(gb.job_ids, g.job_ids);
  EXPECT_EQ(gb.seeds, g.seeds);
  EXPECT_EQ(gb.n_succeeded, 2);
  ASSERT_EQ(gb.figures.size(), 2u);
  EXPECT_EQ(gb.figures["test.accuracy"].mean, 0.9);
  EXPECT_EQ(gb.figures["test.accuracy"].std, 0.01);
  EXPECT_EQ(gb.figures["eval.fgsm[eps=0.00392157].accuracy"].n, 2);
}

TEST(ConvertTest, FieldErrorsParseFromStatusText) {
  std::string msg =
      "invalid sweep spec (3 errors):\n"
      "base.train.epochs: found \"ten\"; expected an integer >= 1\n"
      "grid[\"model.conv.lc_rate\"][1]: found -2; expected an integer in [1, 4096]\n"
      "base.model.conv.intermdiate: found an unknown key; expected one of a, b; did you mean "
      "\"intermediate\"?";
  v1::ErrorDetails d = FieldErrorsFromMessage(msg);
  ASSERT_EQ(d.field_errors_size(), 3);
  EXPECT_EQ(d.field_errors(0).path(), "base.train.epochs");
  EXPECT_EQ(d.field_errors(0).found(), "\"ten\"");
  EXPECT_EQ(d.field_errors(0).expected(), "an integer >= 1");
  EXPECT_EQ(d.field_errors(1).path(), "grid[\"model.conv.lc_rate\"][1]");
  EXPECT_EQ(d.field_errors(1).found(), "-2");
  EXPECT_EQ(d.field_errors(2).hint(), "did you mean \"intermediate\"?");
  EXPECT_EQ(d.field_errors(2).expected(), "one of a, b");
  // Back to text: the same lines (without the header).
  EXPECT_EQ(FormatFieldErrors(d), msg.substr(msg.find('\n') + 1));
  // Details travel in a grpc::Status and parse back.
  grpc::Status st = ToGrpcStatus(InvalidArgumentError(msg), d.SerializeAsString());
  EXPECT_EQ(ParseErrorDetails(st).field_errors_size(), 3);
  EXPECT_EQ(ParseErrorDetails(grpc::Status::OK).field_errors_size(), 0);
}

}  // namespace
}  // namespace lcsweep::rpc
