// FakeCoordinatorClient: an in-memory CoordinatorClient for agent unit tests.
// Records every call in order; scripted failures via the public knobs.
// Thread-safe (the agent calls it from slot and heartbeat threads).
#pragma once

#include <atomic>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "worker/agent/coordinator_client.h"

namespace lcsweep::agent {

class FakeCoordinatorClient : public CoordinatorClient {
 public:
  // Knobs (set before the agent runs, or under no race with it).
  std::deque<LeaseGrant> leases;                // handed out one per Lease call
  Status register_error;                        // returned by Register when not OK
  std::atomic<int> unavailable_reports{0};      // next N ReportMetrics fail UNAVAILABLE (not stored)
  std::atomic<int> lost_replies{0};             // next N ReportMetrics store, then fail DEADLINE_EXCEEDED
  std::atomic<bool> disk_full_reports{false};   // every ReportMetrics fails RESOURCE_EXHAUSTED (not stored)
  std::atomic<bool> cancel_on_heartbeat{false};
  std::atomic<bool> stale_token{false};         // every lease call gets FAILED_PRECONDITION
  // As the coordinator answers for a job stopped early (or cancelled) while
  // its report was on the way: reports are refused, the next heartbeat still
  // acknowledges the stop.
  std::atomic<bool> stopped_early{false};
  Status model_upload_error;                    // returned by UploadModel when not OK

  StatusOr<Registration> Register(const WorkerRegistration& r) override {
    Log("register " + r.name);
    {
      std::lock_guard<std::mutex> lock(mu_);
      registrations_.push_back(r);
    }
    if (!register_error.ok()) return register_error;
    return Registration{7, 60000, 20};
  }
  StatusOr<std::optional<LeaseGrant>> Lease(const LeaseRequest& request) override {
    std::lock_guard<std::mutex> lock(mu_);
    lease_requests_.push_back(request);
    if (leases.empty()) return std::optional<LeaseGrant>();
    LeaseGrant g = leases.front();
    leases.pop_front();
    calls_.push_back("lease " + std::to_string(g.job_id));
    return std::optional<LeaseGrant>(g);
  }
  StatusOr<bool> Heartbeat(int64_t, const std::string&, const ProgressReport& p,
                           const ResourceUsage& usage) override {
    if (stale_token) return FailedPreconditionError("stale token");
    std::lock_guard<std::mutex> lock(mu_);
    ++heartbeats_;
    last_progress_ = p;
    usages_.push_back(usage);
    return cancel_on_heartbeat.load();
  }
  // Stores like the coordinator: once per seq. Every call, failed or not,
  // is kept in sent_ so a test can check what a resend carried.
  Status ReportMetrics(int64_t, const std::string&, int64_t seq,
                       const std::vector<MetricSample>& points) override {
    if (stale_token) return FailedPreconditionError("stale token");
    if (stopped_early) return FailedPreconditionError("job was stopped; stop it and abandon the lease");
    {
      std::lock_guard<std::mutex> lock(mu_);
      sent_.push_back({seq, points});
    }
    if (unavailable_reports > 0) {
      --unavailable_reports;
      return UnavailableError("coordinator restarting");
    }
    if (disk_full_reports) return ResourceExhaustedError("database or disk is full");
    std::lock_guard<std::mutex> lock(mu_);
    if (seq == 0 || stored_seqs_.insert(seq).second)
      for (const auto& p : points) stored_.push_back(p);
    calls_.push_back("report " + std::to_string(points.size()));
    if (lost_replies > 0) {  // stored, but the reply never arrives
      --lost_replies;
      return Status(StatusCode::kDeadlineExceeded, "deadline exceeded (reply lost)");
    }
    return OkStatus();
  }
  Status UploadCheckpoint(int64_t, const std::string&, int64_t epoch, int64_t step,
                          const std::string&) override {
    if (stale_token) return FailedPreconditionError("stale token");
    Log("upload " + std::to_string(epoch) + " " + std::to_string(step) + " after " +
        std::to_string(StoredCount()) + " points");
    return OkStatus();
  }
  // Logs "model <bytes of the file>" (or "model missing") before answering.
  Status UploadModel(int64_t, const std::string&, int64_t, int64_t, const std::string& path) override {
    if (stale_token) return FailedPreconditionError("stale token");
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    Log(ec ? std::string("model missing") : "model " + std::to_string(size));
    return model_upload_error;
  }
  Status DownloadCheckpoint(int64_t, const std::string&, const std::string&) override {
    Log("download");
    return NotFoundError("no checkpoint");
  }
  Status CompleteJob(int64_t job_id, const std::string&, const std::string& result,
                     const ResourceUsage& usage) override {
    if (stale_token) return FailedPreconditionError("stale token");
    Final(usage);
    Log("complete " + std::to_string(job_id) + " " + result);
    return OkStatus();
  }
  Status FailJob(int64_t job_id, const std::string&, const std::string&, bool retryable,
                 const ResourceUsage& usage) override {
    if (stale_token) return FailedPreconditionError("stale token");
    Final(usage);
    Log("fail " + std::to_string(job_id) + (retryable ? " retryable" : " final"));
    return OkStatus();
  }
  Status ReleaseJob(int64_t job_id, const std::string&, const std::string&,
                    const ResourceUsage& usage) override {
    if (stale_token) return FailedPreconditionError("stale token");
    Final(usage);
    Log("release " + std::to_string(job_id));
    return OkStatus();
  }
  Status ReleaseJobForMemory(int64_t job_id, const std::string&, ReleaseReason why, double gb,
                             const std::string&, const ResourceUsage& usage) override {
    if (stale_token) return FailedPreconditionError("stale token");
    Final(usage);
    char text[64];
    std::snprintf(text, sizeof(text), " %.2f", gb);
    Log("release " + std::to_string(job_id) +
        (why == ReleaseReason::kOutOfMemory ? " out_of_memory" : " does_not_fit") + text);
    return OkStatus();
  }

  // The usage each heartbeat carried, and the final call's.
  std::vector<ResourceUsage> heartbeat_usages() {
    std::lock_guard<std::mutex> lock(mu_);
    return usages_;
  }
  std::optional<ResourceUsage> final_usage() {
    std::lock_guard<std::mutex> lock(mu_);
    return final_usage_;
  }

  std::vector<std::string> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  std::vector<MetricSample> stored() {
    std::lock_guard<std::mutex> lock(mu_);
    return stored_;
  }
  struct SentReport {
    int64_t seq = 0;
    std::vector<MetricSample> points;
  };
  std::vector<SentReport> sent() {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_;
  }
  int heartbeats() {
    std::lock_guard<std::mutex> lock(mu_);
    return heartbeats_;
  }
  ProgressReport last_progress() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_progress_;
  }
  std::vector<WorkerRegistration> registrations() {
    std::lock_guard<std::mutex> lock(mu_);
    return registrations_;
  }
  std::vector<LeaseRequest> lease_requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return lease_requests_;
  }

 private:
  void Log(const std::string& call) {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(call);
  }
  size_t StoredCount() {
    std::lock_guard<std::mutex> lock(mu_);
    return stored_.size();
  }
  void Final(const ResourceUsage& usage) {
    std::lock_guard<std::mutex> lock(mu_);
    final_usage_ = usage;
  }

  std::mutex mu_;
  std::vector<std::string> calls_;
  std::vector<MetricSample> stored_;
  std::set<int64_t> stored_seqs_;
  std::vector<SentReport> sent_;
  ProgressReport last_progress_;
  int heartbeats_ = 0;
  std::vector<ResourceUsage> usages_;
  std::optional<ResourceUsage> final_usage_;
  std::vector<WorkerRegistration> registrations_;
  std::vector<LeaseRequest> lease_requests_;
};

}  // namespace lcsweep::agent
