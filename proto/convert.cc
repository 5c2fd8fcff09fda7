#include "proto/convert.h"

namespace lcsweep {

grpc::Status ToGrpcStatus(const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), status.message());
}

grpc::Status ToGrpcStatus(const Status& status, const std::string& details) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), status.message(), details);
}

Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return OkStatus();
  int code = static_cast<int>(status.error_code());
  if (code < 0 || code > static_cast<int>(StatusCode::kUnauthenticated)) {
    return Status(StatusCode::kUnknown, status.error_message());
  }
  return Status(static_cast<StatusCode>(code), status.error_message());
}

v1::JobSummary SummaryFromConfig(const JobConfig& c) {
  v1::JobSummary s;
  s.set_seed(c.seed);
  s.set_dataset(c.data.name);
  s.set_arch(c.model.arch);
  s.set_depth(c.model.depth);
  s.set_width(c.model.width);
  s.set_kernel_size(c.model.kernel_size);
  s.set_conv_mode(c.model.conv.mode);
  s.set_lc_rate(c.model.conv.lc_rate);
  s.set_spatial(c.model.conv.spatial);
  s.set_init(c.model.conv.init);
  s.set_sharing(c.model.conv.sharing);
  s.set_intermediate(c.model.conv.intermediate);
  s.set_execution(c.model.conv.execution);
  s.set_epochs(c.train.epochs);
  s.set_device(c.resources.device);
  s.set_min_gpu_memory_gb(c.resources.min_gpu_memory_gb);
  return s;
}

std::string JobStateName(v1::JobState state) {
  switch (state) {
    case v1::JOB_STATE_QUEUED: return "queued";
    case v1::JOB_STATE_RUNNING: return "running";
    case v1::JOB_STATE_SUCCEEDED: return "succeeded";
    case v1::JOB_STATE_FAILED: return "failed";
    case v1::JOB_STATE_CANCELLED: return "cancelled";
    default: return "";
  }
}

std::optional<v1::JobState> JobStateFromName(std::string_view name) {
  for (v1::JobState s : {v1::JOB_STATE_QUEUED, v1::JOB_STATE_RUNNING, v1::JOB_STATE_SUCCEEDED,
                         v1::JOB_STATE_FAILED, v1::JOB_STATE_CANCELLED}) {
    if (JobStateName(s) == name) return s;
  }
  return std::nullopt;
}

std::string FormatFieldErrors(const v1::ErrorDetails& details) {
  std::string out;
  for (const auto& e : details.field_errors()) {
    if (!out.empty()) out += '\n';
    out += e.path().empty() ? e.message() : e.path() + ": " + e.message();
  }
  return out;
}

v1::ErrorDetails ParseErrorDetails(const grpc::Status& status) {
  v1::ErrorDetails details;
  if (status.error_details().empty() || !details.ParseFromString(status.error_details())) {
    return v1::ErrorDetails();
  }
  return details;
}

}  // namespace lcsweep
