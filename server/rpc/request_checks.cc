#include "server/rpc/request_checks.h"

#include <cmath>
#include <string>

#include "common/field_errors.h"
#include "common/limits.h"
#include "common/text_checks.h"

namespace lcsweep::rpc {
namespace {

constexpr NamedLimit kToken{kMaxTokenBytes, "kMaxTokenBytes"};
constexpr NamedLimit kReason{kMaxReasonBytes, "kMaxReasonBytes"};
constexpr NamedLimit kWorkerField{kMaxWorkerFieldBytes, "kMaxWorkerFieldBytes"};
constexpr NamedLimit kMetricName{kMaxMetricNameBytes, "kMaxMetricNameBytes"};

Status CheckCount(std::string_view field, size_t n, NamedLimit max) {
  if (n <= max.value) return OkStatus();
  return InvalidArgumentError(std::string(field) + ": " + std::to_string(n) +
                              " entries; the limit is " + std::to_string(max.value) + " (" +
                              max.name + ")");
}

// A map's keys and values, each as its own field: labels["rack"].
template <typename Map>
Status CheckMap(std::string_view field, const Map& m, NamedLimit entries, NamedLimit each) {
  LCSWEEP_RETURN_IF_ERROR(CheckCount(field, m.size(), entries));
  for (const auto& [k, v] : m) {
    // Keys are `string` on the wire, so protobuf already refused bad UTF-8 in
    // them; their length is ours to bound.
    LCSWEEP_RETURN_IF_ERROR(CheckText(std::string(field) + " key", k, each));
    LCSWEEP_RETURN_IF_ERROR(CheckText(QuotedKeyPath(field, CutUtf8(k, 64)), v, each));
  }
  return OkStatus();
}

// An attempt's measurement (ResourceUsage in spec.proto): finite,
// non-negative figures and short names, so that a report cannot poison the
// sums of a cost report.
Status CheckUsage(const v1::ResourceUsage& u) {
  const std::pair<const char*, double> reals[] = {{"usage.wall_seconds", u.wall_seconds()},
                                                  {"usage.cpu_seconds", u.cpu_seconds()},
                                                  {"usage.gpu_seconds", u.gpu_seconds()},
                                                  {"usage.energy_joules", u.energy_joules()}};
  for (const auto& [field, v] : reals) {
    if (!std::isfinite(v) || v < 0)
      return InvalidArgumentError(std::string(field) + ": found " + std::to_string(v) +
                                  "; expected a finite number >= 0");
  }
  const std::pair<const char*, int64_t> counts[] = {
      {"usage.images", u.images()},
      {"usage.peak_host_bytes", u.peak_host_bytes()},
      {"usage.peak_device_bytes", u.peak_device_bytes()}};
  for (const auto& [field, v] : counts) {
    if (v < 0)
      return InvalidArgumentError(std::string(field) + ": found " + std::to_string(v) +
                                  "; expected >= 0");
  }
  LCSWEEP_RETURN_IF_ERROR(CheckText("usage.device_kind", u.device_kind(), kWorkerField));
  LCSWEEP_RETURN_IF_ERROR(CheckText("usage.device_model", u.device_model(), kWorkerField));
  const std::string& source = u.energy_source();
  if (source != "" && source != "rapl" && source != "nvml")
    return InvalidArgumentError("usage.energy_source: found \"" + std::string(CutUtf8(source, 64)) +
                                "\"; expected \"\", \"rapl\" or \"nvml\"");
  return OkStatus();
}

}  // namespace

Status CheckRequest(const v1::SubmitSweepRequest& r) {
  LCSWEEP_RETURN_IF_ERROR(CheckText("spec_json", r.spec_json(), {kMaxSpecBytes, "kMaxSpecBytes"}));
  LCSWEEP_RETURN_IF_ERROR(CheckSpecJsonText(r.spec_json()));
  LCSWEEP_RETURN_IF_ERROR(CheckText("request_id", r.request_id(), kToken));
  if (r.has_priority() && (r.priority() < kMinPriority || r.priority() > kMaxPriority)) {
    return InvalidArgumentError("priority: " + std::to_string(r.priority()) + " is outside [" +
                                std::to_string(kMinPriority) + ", " +
                                std::to_string(kMaxPriority) + "] (kMinPriority, kMaxPriority)");
  }
  return OkStatus();
}

Status CheckRequest(const v1::ListSweepsRequest& r) {
  LCSWEEP_RETURN_IF_ERROR(CheckText("page_token", r.page_token(), kToken));
  return CheckText("tag", r.tag(), {kMaxTagBytes, "kMaxTagBytes"});
}

Status CheckRequest(const v1::ListJobsRequest& r) {
  return CheckText("page_token", r.page_token(), kToken);
}

Status CheckRequest(const v1::GetMetricsRequest& r) {
  for (int i = 0; i < r.names_size(); ++i)
    LCSWEEP_RETURN_IF_ERROR(CheckText("names[" + std::to_string(i) + "]", r.names(i),
                                      {kMaxMetricNameBytes, "kMaxMetricNameBytes"}));
  return CheckText("page_token", r.page_token(), kToken);
}

Status CheckRequest(const v1::CancelJobRequest& r) { return CheckText("reason", r.reason(), kReason); }

Status CheckRequest(const v1::CancelSweepRequest& r) {
  return CheckText("reason", r.reason(), kReason);
}

Status CheckRequest(const v1::GetResultsRequest& r) {
  return CheckText("page_token", r.page_token(), kToken);
}

Status CheckRequest(const v1::ListWorkersRequest& r) {
  return CheckText("page_token", r.page_token(), kToken);
}

// Registration and heartbeats carry the same device list.
Status CheckDevices(const google::protobuf::RepeatedPtrField<v1::Device>& devices) {
  LCSWEEP_RETURN_IF_ERROR(CheckCount("devices", static_cast<size_t>(devices.size()),
                                     {kMaxWorkerDevices, "kMaxWorkerDevices"}));
  for (int i = 0; i < devices.size(); ++i) {
    const std::string at = IndexPath("devices", static_cast<size_t>(i));
    LCSWEEP_RETURN_IF_ERROR(CheckText(at + ".kind", devices.Get(i).kind(), kWorkerField));
    LCSWEEP_RETURN_IF_ERROR(CheckText(at + ".name", devices.Get(i).name(), kWorkerField));
  }
  return OkStatus();
}

Status CheckRequest(const v1::RegisterWorkerRequest& r) {
  LCSWEEP_RETURN_IF_ERROR(CheckText("name", r.name(), kWorkerField));
  LCSWEEP_RETURN_IF_ERROR(CheckText("hostname", r.hostname(), kWorkerField));
  LCSWEEP_RETURN_IF_ERROR(CheckDevices(r.devices()));
  constexpr NamedLimit kEntries{kMaxWorkerMapEntries, "kMaxWorkerMapEntries"};
  LCSWEEP_RETURN_IF_ERROR(CheckMap("versions", r.versions(), kEntries, kWorkerField));
  return CheckMap("labels", r.labels(), kEntries, kWorkerField);
}

Status CheckRequest(const v1::HeartbeatRequest& r) {
  LCSWEEP_RETURN_IF_ERROR(CheckText("lease_token", r.lease_token(), kToken));
  const auto& metrics = r.progress().metrics();
  LCSWEEP_RETURN_IF_ERROR(CheckCount("progress.metrics", metrics.size(),
                                     {kMaxProgressMetrics, "kMaxProgressMetrics"}));
  for (const auto& [name, value] : metrics) {
    LCSWEEP_RETURN_IF_ERROR(CheckText("progress.metrics key", name, kMetricName));
  }
  LCSWEEP_RETURN_IF_ERROR(CheckDevices(r.devices()));
  return r.has_usage() ? CheckUsage(r.usage()) : OkStatus();
}

Status CheckRequest(const v1::LeaseJobRequest& r) {
  if (r.wait_seconds() < 0) return InvalidArgumentError("wait_seconds must be >= 0");
  return CheckText("device", r.device(), kWorkerField);
}

Status CheckRequest(const v1::ReportMetricsRequest& r) {
  for (int i = 0; i < r.points_size(); ++i) {
    LCSWEEP_RETURN_IF_ERROR(CheckText(IndexPath("points", static_cast<size_t>(i)) + ".name",
                                      r.points(i).name(), kMetricName));
  }
  return OkStatus();
}

Status CheckRequest(const v1::CheckpointUploadMetadata& r) {
  LCSWEEP_RETURN_IF_ERROR(CheckText("lease_token", r.lease_token(), kToken));
  return CheckText("sha256", r.sha256(), kToken);
}

Status CheckRequest(const v1::DownloadCheckpointRequest& r) {
  return CheckText("lease_token", r.lease_token(), kToken);
}

Status CheckRequest(const v1::CompleteJobRequest& r) {
  LCSWEEP_RETURN_IF_ERROR(CheckText("lease_token", r.lease_token(), kToken));
  LCSWEEP_RETURN_IF_ERROR(
      CheckText("result_json", r.result_json(), {kMaxResultBytes, "kMaxResultBytes"}));
  LCSWEEP_RETURN_IF_ERROR(CheckResultJsonText(r.result_json()));
  return r.has_usage() ? CheckUsage(r.usage()) : OkStatus();
}

Status CheckRequest(const v1::FailJobRequest& r) {
  LCSWEEP_RETURN_IF_ERROR(CheckText("lease_token", r.lease_token(), kToken));
  LCSWEEP_RETURN_IF_ERROR(
      CheckText("error", r.error(), {kMaxErrorTextBytes, "kMaxErrorTextBytes"}));
  return r.has_usage() ? CheckUsage(r.usage()) : OkStatus();
}

Status CheckRequest(const v1::ReleaseJobRequest& r) {
  LCSWEEP_RETURN_IF_ERROR(CheckText("lease_token", r.lease_token(), kToken));
  LCSWEEP_RETURN_IF_ERROR(CheckText("reason", r.reason(), kReason));
  return r.has_usage() ? CheckUsage(r.usage()) : OkStatus();
}

Status CheckRequest(const v1::ListUsageRequest& r) {
  return CheckText("page_token", r.page_token(), kToken);
}

}  // namespace lcsweep::rpc
