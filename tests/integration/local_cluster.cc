#include "tests/integration/local_cluster.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace lcsweep::testing {
namespace fs = std::filesystem;

LocalCluster::LocalCluster(ClusterOptions options) : options_(std::move(options)) {
  std::string templ = (fs::temp_directory_path() / "lcsweep-cluster-XXXXXX").string();
  dir_ = mkdtemp(templ.data());
  state_dir_ = options_.state_dir.empty() ? dir_ : options_.state_dir;
  port_ = PickFreePort();
  StartCoordinator();
  channel_ = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
  stub_ = v1::JobService::NewStub(channel_);
}

LocalCluster::~LocalCluster() {
  for (auto& [name, w] : workers_) w->Signal(SIGKILL);
  workers_.clear();
  coordinator_.reset();
  if (!::testing::Test::HasFailure()) fs::remove_all(dir_);
  else std::cerr << "LocalCluster: logs kept in " << dir_ << "\n";
}

bool LocalCluster::StartCoordinator(const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {LCSWEEP_COORDINATOR_BIN,
                                   "--listen", address(),
                                   "--db", db_path(),
                                   "--artifacts", state_dir_ + "/artifacts",
                                   "--lease-seconds", std::to_string(options_.lease_seconds),
                                   "--http-listen", ""};
  for (const auto& a : options_.extra_coordinator_args) argv.push_back(a);
  for (const auto& a : extra) argv.push_back(a);
  coordinator_ = std::make_unique<ChildProcess>(
      argv, dir_ + "/coordinator-" + std::to_string(++coordinator_starts_));
  if (!coordinator_->WaitForOutput("listening on", std::chrono::seconds(30))) {
    ADD_FAILURE() << "coordinator did not start:\n" << coordinator_->Stderr();
    return false;
  }
  return true;
}

void LocalCluster::KillCoordinator(int sig) {
  coordinator_->Signal(sig);
  coordinator_->Wait(std::chrono::seconds(30));
}

ChildProcess& LocalCluster::StartWorker(const std::string& name, std::vector<std::string> extra) {
  WorkerLaunch launch;
  launch.extra_args = std::move(extra);
  return StartWorker(name, launch);
}

ChildProcess& LocalCluster::StartWorker(const std::string& name, const WorkerLaunch& launch) {
  const std::string target =
      launch.coordinator_address.empty() ? address() : launch.coordinator_address;
  std::vector<std::string> argv = {LCSWEEP_WORKER_BIN, "--coordinator", target, "--name", name,
                                   "--work-dir", dir_ + "/work-" + name, "--lease-wait", "1",
                                   "--threads", "1"};
  for (const auto& e : launch.extra_args) argv.push_back(e);
  auto process = std::make_unique<ChildProcess>(argv, dir_ + "/worker-" + name, launch.env);
  ChildProcess& ref = *process;
  workers_[name] = std::move(process);
  return ref;
}

grpc::Status LocalCluster::Submit(const nlohmann::json& spec, v1::SubmitSweepResponse* response,
                                  const std::string& request_id) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::SubmitSweepRequest req;
  req.set_spec_json(spec.dump());
  req.set_request_id(request_id);
  return stub_->SubmitSweep(&ctx, req, response);
}

v1::Job LocalCluster::GetJob(int64_t job_id) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::GetJobRequest req;
  req.set_job_id(job_id);
  v1::GetJobResponse resp;
  stub_->GetJob(&ctx, req, &resp);  // errors (coordinator down) read as an empty job
  return resp.job();
}

std::vector<v1::Job> LocalCluster::Jobs(int64_t sweep_id) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::ListJobsRequest req;
  req.set_sweep_id(sweep_id);
  req.set_page_size(1000);
  v1::ListJobsResponse resp;
  stub_->ListJobs(&ctx, req, &resp);
  return {resp.jobs().begin(), resp.jobs().end()};
}

std::map<std::string, std::vector<v1::MetricPoint>> LocalCluster::Metrics(int64_t job_id,
                                                                         bool include_superseded) {
  std::map<std::string, std::vector<v1::MetricPoint>> out;
  v1::GetMetricsRequest req;
  req.set_job_id(job_id);
  req.set_include_superseded(include_superseded);
  req.set_page_size(10000);
  // GetMetrics pages (ordered by step); a series spans pages.
  for (int page = 0; page < 10000; ++page) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::GetMetricsResponse resp;
    const grpc::Status st = stub_->GetMetrics(&ctx, req, &resp);
    if (!st.ok()) {
      ADD_FAILURE() << "GetMetrics(job " << job_id << "): " << st.error_message();
      return out;
    }
    for (const auto& s : resp.series()) {
      out[s.name()].insert(out[s.name()].end(), s.points().begin(), s.points().end());
    }
    if (resp.next_page_token().empty()) return out;
    req.set_page_token(resp.next_page_token());
  }
  ADD_FAILURE() << "GetMetrics(job " << job_id << "): more than 10,000 pages";
  return out;
}

std::vector<v1::Event> LocalCluster::Events(int64_t job_id) {
  grpc::ClientContext ctx;
  v1::ListEventsRequest req;
  req.set_job_id(job_id);
  req.set_limit(5000);
  v1::ListEventsResponse resp;
  stub_->ListEvents(&ctx, req, &resp);
  return {resp.events().begin(), resp.events().end()};
}

grpc::Status LocalCluster::Cancel(int64_t job_id) {
  grpc::ClientContext ctx;
  v1::CancelJobRequest req;
  req.set_job_id(job_id);
  v1::CancelJobResponse resp;
  return stub_->CancelJob(&ctx, req, &resp);
}

int64_t LocalCluster::CheckpointEpoch(int64_t job_id) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::GetJobRequest req;
  req.set_job_id(job_id);
  v1::GetJobResponse resp;
  if (!stub_->GetJob(&ctx, req, &resp).ok() || !resp.has_latest_checkpoint()) return -1;
  return resp.latest_checkpoint().epoch();
}

bool LocalCluster::WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

nlohmann::json TinySweep(const std::string& name, int epochs, int train_size,
                         const nlohmann::json& grid, const std::vector<int>& seeds) {
  nlohmann::json spec = {
      {"name", name},
      {"base",
       {{"data", {{"name", "synthetic"},
                  {"synthetic", {{"train_size", train_size}, {"test_size", 128}, {"image_size", 16},
                                 {"classes", 4}}}}},
        {"model", {{"arch", "resnet_cifar"}, {"depth", 8}, {"width", 8},
                   {"conv", {{"mode", "lc"}, {"lc_rate", 2}}}}},
        {"train", {{"epochs", epochs}, {"batch_size", 64}, {"log_every_steps", 2}, {"threads", 1}}},
        {"eval", {{"fgsm_eps", nlohmann::json::array()}, {"filter_stats", false}}},
        {"resources", {{"device", "cpu"}}},
        {"checkpoint", {{"every_epochs", 1}}}}},
      {"seeds", seeds},
      {"max_attempts", 3}};
  if (grid.empty()) {
    spec["list"] = nlohmann::json::array({nlohmann::json::object()});  // just the base
  } else {
    spec["grid"] = grid;
  }
  return spec;
}

nlohmann::json SlowSweep(const std::string& name, int epochs, const nlohmann::json& grid,
                         const std::vector<int>& seeds) {
  nlohmann::json spec = TinySweep(name, epochs, 2048, grid, seeds);
  spec["base"]["data"]["synthetic"]["image_size"] = 32;
  spec["base"]["model"]["width"] = 16;
  return spec;
}

nlohmann::json RunStandalone(const std::string& config_json, const std::string& dir) {
  const std::string job = dir + "/standalone-job.json";
  const std::string out = dir + "/standalone-result.json";
  std::ofstream(job) << config_json;
  const std::string cmd = std::string(LCSWEEP_TRAIN_BIN) + " run " + job + " --out " + out +
                          " --threads 1 > " + dir + "/standalone.log 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    ADD_FAILURE() << "lcsweep-train failed: " << ReadFileOrEmpty(dir + "/standalone.log");
    return {};
  }
  return nlohmann::json::parse(ReadFileOrEmpty(out));
}

bool IsFinal(v1::JobState state) {
  return state == v1::JOB_STATE_SUCCEEDED || state == v1::JOB_STATE_FAILED ||
         state == v1::JOB_STATE_CANCELLED;
}

}  // namespace lcsweep::testing
