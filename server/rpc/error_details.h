// Field errors as a gRPC status whose size we bound: the status message and
// the binary details travel in HTTP/2 trailers, and a default gRPC client
// refuses trailers above 8 KiB with RESOURCE_EXHAUSTED, losing every error.
// So both carry the first errors only (common/limits.h:
// kMaxReportedFieldErrors, kMaxErrorDetailsBytes, kMaxStatusMessageBytes)
// and say how many more there are; each error's texts are cut to
// kMaxFieldErrorTextBytes.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <grpcpp/support/status.h>

#include "common/field_errors.h"
#include "common/limits.h"
#include "lcsweep/v1/spec.pb.h"

namespace lcsweep::rpc {

// Drops trailing errors of `details` (counting them in omitted) until it has
// at most kMaxReportedFieldErrors and serializes to kMaxErrorDetailsBytes.
void BoundErrorDetails(v1::ErrorDetails* details);

// The bounded ErrorDetails of `errors` (first ones, plus `omitted`).
v1::ErrorDetails BoundedErrorDetails(const std::vector<FieldError>& errors);

// INVALID_ARGUMENT: message `header` then one line per listed error, then
// "... and M more errors (N in all)"; details BoundedErrorDetails(errors).
grpc::Status FieldErrorsStatus(std::string_view header, const std::vector<FieldError>& errors);

}  // namespace lcsweep::rpc
