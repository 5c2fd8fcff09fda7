// Conversions between the coordinator's domain records (server/core/types.h)
// and the lcsweep.v1 wire messages. Pure functions; no gRPC calls.
//
// Field mapping notes:
// - JobState: core kQueued..kStopped <-> v1 JOB_STATE_QUEUED..STOPPED
//   (the wire enum reserves 0 for UNSPECIFIED).
// - Event states are names in the core ("" = creation) and enums on the wire.
// - The v1 JobSummary is derived from config_json (proto/convert.h).
// - Times are int64 ms on both sides.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lcsweep/v1/coordinator.pb.h"
#include "lcsweep/v1/spec.pb.h"
#include "server/core/types.h"

namespace lcsweep::rpc {

v1::JobState ToProto(JobState state);
// nullopt for JOB_STATE_UNSPECIFIED or an unknown value.
std::optional<JobState> FromProto(v1::JobState state);
// A state name as stored in events ("queued", ...); "" and unknown -> UNSPECIFIED.
v1::JobState StateFromName(const std::string& name);

v1::SubmitOutcome ToProto(SubmitOutcome outcome);

void ToProto(const JobProgress& progress, v1::Progress* out);
JobProgress FromProto(const v1::Progress& progress);

void ToProto(const JobRecord& job, v1::Job* out);
// Inverse of ToProto (summary dropped, lease token not on the wire so empty,
// version 0): used by tests and by clients that want core records.
JobRecord FromProto(const v1::Job& job);

void ToProto(const SweepSummary& sweep, v1::Sweep* out);

void ToProto(const WorkerDevice& device, v1::Device* out);
WorkerDevice FromProto(const v1::Device& device);
// `lease_ttl_ms` decides `alive` (seen within one lease period of now_ms).
void ToProto(const WorkerRecord& worker, int64_t now_ms, int64_t lease_ttl_ms, v1::Worker* out);
// The record a RegisterWorker request describes (id 0, times 0).
WorkerRecord FromProto(const v1::RegisterWorkerRequest& request);

void ToProto(const MetricPoint& point, v1::MetricPoint* out);
// job_id is not on the wire point; pass it in.
MetricPoint FromProto(const v1::MetricPoint& point, int64_t job_id);

void ToProto(const Event& event, v1::Event* out);
Event FromProto(const v1::Event& event);

void ToProto(const CheckpointMeta& meta, v1::Checkpoint* out);  // path stays server-side
void ToProto(const AttemptUsage& usage, v1::AttemptUsage* out);
AttemptUsage FromProto(const v1::AttemptUsage& usage);
CheckpointMeta FromProto(const v1::Checkpoint& checkpoint);
void ToProto(const ModelMeta& meta, v1::Model* out);  // path stays server-side

void ToProto(const ResultGroup& group, v1::ResultGroup* out);
ResultGroup FromProto(const v1::ResultGroup& group);

void ToProto(const Lease& lease, v1::Lease* out);

LeaseRequest FromProto(const v1::LeaseJobRequest& request);

// Groups points by name into series (ascending name, points in the given order).
void ToSeries(int64_t job_id, const std::vector<MetricPoint>& points,
              v1::GetMetricsResponse* out);

}  // namespace lcsweep::rpc
