// Conversions between lcsweep.v1 wire messages and the common types.
//
// Shared by every gRPC adapter (coordinator services, worker client, CLI):
// - lcsweep::Status <-> grpc::Status, one code to one code (the enums have
//   the same numbering by design, see common/status.h);
// - JobConfig -> JobSummary (the typed view of a config on the wire);
// - JobState <-> its lower-case name ("queued", ...), as used in the CLI,
//   the dashboard's JSON and the SQLite store;
// - ResourceUsage (common/resource_usage.h), measured by workers and stored
//   by the coordinator.
// Server-side types (server/core) are converted in server/rpc/convert.h so
// this library stays free of coordinator code.
// Thread-safety: pure functions.
#pragma once

#include <grpcpp/support/status.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/job_config.h"
#include "common/resource_usage.h"
#include "common/status.h"
#include "lcsweep/v1/spec.pb.h"

namespace lcsweep {

// Same code, same message, cut (at a UTF-8 boundary, marked "... [cut]") so
// that it takes at most kMaxStatusMessageBytes on the wire: the message
// travels in trailers, which a default client refuses above 8 KiB. An OK
// status maps to grpc::Status::OK.
grpc::Status ToGrpcStatus(const Status& status);
// A status carrying binary details (e.g. v1::ErrorDetails); the caller
// bounds their size.
grpc::Status ToGrpcStatus(const Status& status, const std::string& details);
// Bytes `message` takes as gRPC sends it (grpc-message is percent-encoded:
// bytes outside printable ASCII, and '%', take three).
size_t GrpcMessageWireSize(std::string_view message);
Status FromGrpcStatus(const grpc::Status& status);
// "OK", "NOT_FOUND", ... as gRPC's documentation spells the codes.
const char* GrpcCodeName(grpc::StatusCode code);

// The typed summary of a config (every field of v1::JobSummary is filled).
v1::JobSummary SummaryFromConfig(const JobConfig& config);
// The same from config JSON text: fields missing from the JSON (or of the
// wrong type) take the JobConfig defaults, like the strict parser does; text
// that is not a JSON object yields the summary of the default config. Used on
// stored canonical configs, which are valid by construction.
v1::JobSummary SummaryFromConfigJson(const std::string& config_json);

// "queued", "running", "succeeded", "failed", "cancelled", "stopped"; "" for UNSPECIFIED.
std::string JobStateName(v1::JobState state);
// Inverse of JobStateName; nullopt for anything else (including "").
std::optional<v1::JobState> JobStateFromName(std::string_view name);

// Parses the text of an INVALID_ARGUMENT status made by common's
// FieldErrorsToStatus ("path: found X; expected Y[; hint]" per line, maybe
// after a header line ending in ':') into ErrorDetails. Lines that do not
// have that shape become errors with an empty path and the line as message.
v1::ErrorDetails FieldErrorsFromMessage(const std::string& message);

// The errors as text, one per line (each FieldError's message, or
// "path: found X; expected Y[; hint]" when the message is empty), then
// "... and M more errors (N in all)" when details.omitted() > 0.
std::string FormatFieldErrors(const v1::ErrorDetails& details);
// Parses the binary details of a grpc::Status from SubmitSweep. Returns an
// empty ErrorDetails when there are none or they do not parse.
v1::ErrorDetails ParseErrorDetails(const grpc::Status& status);

// ResourceUsage <-> v1::ResourceUsage, field for field.
void ToProto(const ResourceUsage& usage, v1::ResourceUsage* out);
ResourceUsage FromProto(const v1::ResourceUsage& usage);

}  // namespace lcsweep
