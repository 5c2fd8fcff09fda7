#include "proto/convert.h"

#include <nlohmann/json.hpp>

#include "common/limits.h"

namespace lcsweep {

size_t GrpcMessageWireSize(std::string_view message) {
  size_t n = 0;
  for (char ch : message) {
    unsigned char c = static_cast<unsigned char>(ch);
    n += (c < 0x20 || c > 0x7E || c == '%') ? 3 : 1;
  }
  return n;
}

namespace {

std::string BoundedMessage(const std::string& message) {
  if (GrpcMessageWireSize(message) <= kMaxStatusMessageBytes) return message;
  static constexpr std::string_view kMark = "... [cut]";
  size_t size = kMark.size(), end = 0;
  while (end < message.size()) {
    size_t next = end + 1;  // whole UTF-8 sequences only
    while (next < message.size() && (static_cast<unsigned char>(message[next]) & 0xC0) == 0x80)
      ++next;
    size_t add = GrpcMessageWireSize(std::string_view(message).substr(end, next - end));
    if (size + add > kMaxStatusMessageBytes) break;
    size += add;
    end = next;
  }
  return message.substr(0, end) + std::string(kMark);
}

}  // namespace

const char* GrpcCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "UNKNOWN";
  }
}

grpc::Status ToGrpcStatus(const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), BoundedMessage(status.message()));
}

grpc::Status ToGrpcStatus(const Status& status, const std::string& details) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), BoundedMessage(status.message()),
                      details);
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

namespace {

// Reads j[path...] into *out when present and of a compatible type.
template <typename T>
void ReadAt(const nlohmann::json& j, std::initializer_list<const char*> path, T* out) {
  const nlohmann::json* node = &j;
  for (const char* key : path) {
    if (!node->is_object()) return;
    auto it = node->find(key);
    if (it == node->end()) return;
    node = &*it;
  }
  if constexpr (std::is_same_v<T, std::string>) {
    if (node->is_string()) *out = node->get<std::string>();
  } else if constexpr (std::is_same_v<T, double>) {
    if (node->is_number()) *out = node->get<double>();
  } else {
    if (node->is_number_integer()) *out = node->get<T>();
    else if (node->is_number_float()) *out = static_cast<T>(node->get<double>());
  }
}

}  // namespace

v1::JobSummary SummaryFromConfigJson(const std::string& config_json) {
  JobConfig c;
  nlohmann::json j = nlohmann::json::parse(config_json, nullptr, /*allow_exceptions=*/false);
  if (j.is_object()) {
    ReadAt(j, {"seed"}, &c.seed);
    ReadAt(j, {"data", "name"}, &c.data.name);
    ReadAt(j, {"model", "arch"}, &c.model.arch);
    ReadAt(j, {"model", "depth"}, &c.model.depth);
    ReadAt(j, {"model", "width"}, &c.model.width);
    ReadAt(j, {"model", "kernel_size"}, &c.model.kernel_size);
    ReadAt(j, {"model", "conv", "mode"}, &c.model.conv.mode);
    ReadAt(j, {"model", "conv", "lc_rate"}, &c.model.conv.lc_rate);
    ReadAt(j, {"model", "conv", "spatial"}, &c.model.conv.spatial);
    ReadAt(j, {"model", "conv", "init"}, &c.model.conv.init);
    ReadAt(j, {"model", "conv", "sharing"}, &c.model.conv.sharing);
    ReadAt(j, {"model", "conv", "intermediate"}, &c.model.conv.intermediate);
    ReadAt(j, {"model", "conv", "execution"}, &c.model.conv.execution);
    ReadAt(j, {"train", "epochs"}, &c.train.epochs);
    ReadAt(j, {"resources", "device"}, &c.resources.device);
    ReadAt(j, {"resources", "min_gpu_memory_gb"}, &c.resources.min_gpu_memory_gb);
  }
  return SummaryFromConfig(c);
}

v1::ErrorDetails FieldErrorsFromMessage(const std::string& message) {
  v1::ErrorDetails details;
  size_t pos = 0;
  while (pos <= message.size()) {
    size_t nl = message.find('\n', pos);
    std::string line = message.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? message.size() + 1 : nl + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    size_t start = line.find_first_not_of(" \t-*");
    if (start == std::string::npos) continue;
    line = line.substr(start);
    size_t found_at = line.find(": found ");
    if (found_at == std::string::npos) {
      if (line.back() == ':') continue;  // a header such as "invalid sweep (3 errors):"
      auto* e = details.add_field_errors();
      e->set_message(line);
      continue;
    }
    auto* e = details.add_field_errors();
    e->set_message(line);
    e->set_path(line.substr(0, found_at));
    std::string rest = line.substr(found_at + 8);
    size_t exp_at = rest.find("; expected ");
    if (exp_at == std::string::npos) {
      e->set_found(rest);
      continue;
    }
    e->set_found(rest.substr(0, exp_at));
    std::string expected = rest.substr(exp_at + 11);
    size_t hint_at = expected.rfind("; did you mean");
    if (hint_at != std::string::npos) {
      e->set_hint(expected.substr(hint_at + 2));
      expected.resize(hint_at);
    }
    e->set_expected(expected);
  }
  return details;
}

std::string JobStateName(v1::JobState state) {
  switch (state) {
    case v1::JOB_STATE_QUEUED: return "queued";
    case v1::JOB_STATE_RUNNING: return "running";
    case v1::JOB_STATE_SUCCEEDED: return "succeeded";
    case v1::JOB_STATE_FAILED: return "failed";
    case v1::JOB_STATE_CANCELLED: return "cancelled";
    case v1::JOB_STATE_STOPPED: return "stopped";
    default: return "";
  }
}

std::optional<v1::JobState> JobStateFromName(std::string_view name) {
  for (v1::JobState s : {v1::JOB_STATE_QUEUED, v1::JOB_STATE_RUNNING, v1::JOB_STATE_SUCCEEDED,
                         v1::JOB_STATE_FAILED, v1::JOB_STATE_CANCELLED, v1::JOB_STATE_STOPPED}) {
    if (JobStateName(s) == name) return s;
  }
  return std::nullopt;
}

std::string FormatFieldErrors(const v1::ErrorDetails& details) {
  std::string out;
  for (const auto& e : details.field_errors()) {
    if (!out.empty()) out += '\n';
    if (!e.message().empty()) {
      out += e.message();
    } else {
      out += e.path() + ": found " + e.found() + "; expected " + e.expected();
      if (!e.hint().empty()) out += "; " + e.hint();
    }
  }
  if (details.omitted() > 0) {
    if (!out.empty()) out += '\n';
    out += "... and " + std::to_string(details.omitted()) + " more errors (" +
           std::to_string(details.omitted() + details.field_errors_size()) + " in all)";
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

void ToProto(const ResourceUsage& u, v1::ResourceUsage* out) {
  out->set_wall_seconds(u.wall_seconds);
  out->set_cpu_seconds(u.cpu_seconds);
  out->set_gpu_seconds(u.gpu_seconds);
  out->set_device_kind(u.device_kind);
  out->set_device_model(u.device_model);
  out->set_images(u.images);
  out->set_peak_host_bytes(u.peak_host_bytes);
  out->set_peak_device_bytes(u.peak_device_bytes);
  out->set_energy_joules(u.energy_joules);
  out->set_energy_source(u.energy_source);
}

ResourceUsage FromProto(const v1::ResourceUsage& p) {
  ResourceUsage u;
  u.wall_seconds = p.wall_seconds();
  u.cpu_seconds = p.cpu_seconds();
  u.gpu_seconds = p.gpu_seconds();
  u.device_kind = p.device_kind();
  u.device_model = p.device_model();
  u.images = p.images();
  u.peak_host_bytes = p.peak_host_bytes();
  u.peak_device_bytes = p.peak_device_bytes();
  u.energy_joules = p.energy_joules();
  u.energy_source = p.energy_source();
  return u;
}

}  // namespace lcsweep
