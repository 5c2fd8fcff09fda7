// Checks of every request's client-supplied text against common/limits.h,
// run first in each handler, before the Coordinator parses or stores
// anything: sizes, UTF-8 validity (free-text fields are `bytes` on the wire
// so that bad text reaches us instead of failing protobuf's parse), the depth
// of JSON documents (a linear scan, common/text_checks.h) and numeric ranges.
//
// Each returns OK or INVALID_ARGUMENT whose message starts with the field's
// path in the request ("devices[2].name", "labels[\"rack\"]") and names the
// limit. Of the metrics paths only ReportMetrics' names are checked here
// (GetMetrics only reads). An attempt's usage (Heartbeat and the final calls)
// must hold finite figures >= 0 and a known energy source.
//
// Thread-safety: pure functions.
#pragma once

#include "common/status.h"
#include "lcsweep/v1/coordinator.pb.h"

namespace lcsweep::rpc {

Status CheckRequest(const v1::SubmitSweepRequest& r);
Status CheckRequest(const v1::ListSweepsRequest& r);
Status CheckRequest(const v1::ListJobsRequest& r);
Status CheckRequest(const v1::GetMetricsRequest& r);
Status CheckRequest(const v1::CancelJobRequest& r);
Status CheckRequest(const v1::CancelSweepRequest& r);
Status CheckRequest(const v1::GetResultsRequest& r);
Status CheckRequest(const v1::ListWorkersRequest& r);
Status CheckRequest(const v1::RegisterWorkerRequest& r);
Status CheckRequest(const v1::HeartbeatRequest& r);
Status CheckRequest(const v1::LeaseJobRequest& r);
// Only the metric names (the rest of ReportMetrics is its own path's).
Status CheckRequest(const v1::ReportMetricsRequest& r);
Status CheckRequest(const v1::CheckpointUploadMetadata& r);
Status CheckRequest(const v1::DownloadCheckpointRequest& r);
Status CheckRequest(const v1::CompleteJobRequest& r);
Status CheckRequest(const v1::FailJobRequest& r);
Status CheckRequest(const v1::ReleaseJobRequest& r);
Status CheckRequest(const v1::ListUsageRequest& r);

}  // namespace lcsweep::rpc
