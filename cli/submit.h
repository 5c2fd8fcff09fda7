// `lcsweep submit`: validate a sweep spec locally, then queue its jobs, or
// (--dry-run) show what a submission would do.
//
// A dry run needs no coordinator: the spec is validated and expanded here
// (common/sweep_spec.h) and its jobs printed. When a coordinator answers, its
// own dry run adds what it already has for each job (queued/running, a
// result to reuse, failed ones it would re-queue); when none is reachable
// (or with --offline) the expansion alone is shown and the exit code is 0.
//
// A real submission carries one request_id per invocation; a retry after
// UNAVAILABLE or DEADLINE_EXCEEDED resends the same request, so a reply lost
// in transit returns the sweep the first try created instead of a second.
// Thread-safety: the Render* functions are pure; one RunSubmit per process.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cli/connection.h"
#include "cli/io.h"
#include "common/field_errors.h"
#include "common/status.h"
#include "common/sweep_spec.h"
#include "lcsweep/v1/coordinator.pb.h"

namespace lcsweep::cli {

// GB of device memory one training job needs, or the reason it is unknown.
using MemoryEstimator = std::function<StatusOr<double>(const JobConfig&)>;

struct SubmitArgs {
  std::string file;            // "-" = stdin
  bool dry_run = false;
  bool offline = false;        // dry run without asking the coordinator
  bool force = false;
  std::optional<int> priority;
  bool json = false;
  // The device memory a job needs in GB (worker/nn/memory_estimate.h), for a
  // "memory" column in the dry run; empty when this build has no LibTorch.
  MemoryEstimator memory_estimate_gb;
};
int RunSubmit(const ConnectionFlags& flags, const SubmitArgs& args, Io io);

// The tries SubmitWithRetry makes at most.
inline constexpr int kSubmitAttempts = 3;

// Sends `request` through `send` until it succeeds or fails with anything but
// UNAVAILABLE / DEADLINE_EXCEEDED, at most kSubmitAttempts times; every try
// sends the same request (and so the same request_id). Returns the last status.
using SubmitSender = std::function<grpc::Status(const v1::SubmitSweepRequest&, v1::SubmitSweepResponse*)>;
grpc::Status SubmitWithRetry(const v1::SubmitSweepRequest& request, v1::SubmitSweepResponse* response,
                             const SubmitSender& send);

// SubmitSweep of `spec_text` (a fresh request_id, retried as above). An
// INVALID_ARGUMENT reply becomes "the coordinator rejected FILE:" followed by
// one indented line per field error.
StatusOr<v1::SubmitSweepResponse> FetchSubmit(Connection& c, const std::string& spec_text,
                                              const SubmitArgs& args);

// INVALID_ARGUMENT: "FILE is not a valid sweep (N problems):" and one
// indented line per error.
Status SpecErrorsStatus(const std::string& file, const std::vector<FieldError>& errors);

// The answer to a real submission: counts, what was reused, how to watch.
std::string RenderSubmitted(const Sweep& sweep, const v1::SubmitSweepResponse& response, bool force);

// A dry run: one row per expanded job (axes, seed, hash and, with `server`,
// what the coordinator would do with it), the jobs per axis value, and
// (with `server`) the outcome counts. `server` null = the offline expansion.
// `memory` (may be empty) adds each job's estimated training memory.
std::string RenderDryRun(const Sweep& sweep, const v1::SubmitSweepResponse* server,
                         const MemoryEstimator& memory = {});
// The dry run's lines on the fields ignored for identity (common/job_identity.h):
// every run-setting path of the sweep's jobs, and those set to non-default values.
std::string IgnoredForIdentityText(const Sweep& sweep);

// The offline expansion in SubmitSweepResponse's shape (dry_run set, one
// SubmittedJob per job with config_hash, config_json and summary; outcomes
// unspecified), for --json.
v1::SubmitSweepResponse OfflinePlan(const Sweep& sweep);

}  // namespace lcsweep::cli
