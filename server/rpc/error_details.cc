#include "server/rpc/error_details.h"

#include "common/limits.h"
#include "common/text_checks.h"
#include "proto/convert.h"

namespace lcsweep::rpc {
namespace {

std::string Cut(std::string_view s) {
  std::string_view c = CutUtf8(s, kMaxFieldErrorTextBytes);
  return c.size() == s.size() ? std::string(s) : std::string(c) + "...";
}

v1::FieldError ToProto(const FieldError& e) {
  FieldError cut{Cut(e.path), Cut(e.found), Cut(e.expected), Cut(e.hint)};
  v1::FieldError out;
  out.set_path(cut.path);
  out.set_found(cut.found);
  out.set_expected(cut.expected);
  out.set_hint(cut.hint);
  out.set_message(cut.ToString());
  return out;
}

}  // namespace

void BoundErrorDetails(v1::ErrorDetails* details) {
  auto* errors = details->mutable_field_errors();
  while (!errors->empty() &&
         (static_cast<size_t>(errors->size()) > kMaxReportedFieldErrors ||
          details->ByteSizeLong() + 11 > kMaxErrorDetailsBytes)) {
    errors->RemoveLast();
    details->set_omitted(details->omitted() + 1);
  }
}

v1::ErrorDetails BoundedErrorDetails(const std::vector<FieldError>& errors) {
  v1::ErrorDetails details;
  size_t listed = 0;
  for (const FieldError& e : errors) {
    if (listed == kMaxReportedFieldErrors) break;
    v1::FieldError fe = ToProto(e);
    // + tag and length of the element, + room for `omitted`.
    if (details.ByteSizeLong() + fe.ByteSizeLong() + 6 + 11 > kMaxErrorDetailsBytes) break;
    *details.add_field_errors() = std::move(fe);
    ++listed;
  }
  details.set_omitted(static_cast<int64_t>(errors.size() - listed));
  return details;
}

grpc::Status FieldErrorsStatus(std::string_view header, const std::vector<FieldError>& errors) {
  v1::ErrorDetails details = BoundedErrorDetails(errors);
  // Room for the closing line ("... and 1234567 more errors (1234567 in all)").
  constexpr size_t kTail = 64;
  std::string msg(CutUtf8(header, kMaxStatusMessageBytes / 4));
  size_t size = GrpcMessageWireSize(msg);
  size_t listed = 0;
  for (const v1::FieldError& e : details.field_errors()) {
    const size_t line = GrpcMessageWireSize(e.message()) + 1;
    if (size + line + kTail > kMaxStatusMessageBytes) break;
    msg += "\n" + e.message();
    size += line;
    ++listed;
  }
  if (listed < errors.size()) {
    msg += "\n... and " + std::to_string(errors.size() - listed) + " more errors (" +
           std::to_string(errors.size()) + " in all)";
  }
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, msg, details.SerializeAsString());
}

}  // namespace lcsweep::rpc
