// The one way a CLI command talks to the coordinator: connect once, call with
// a fresh context (bearer token + deadline), explain a failure for people
// (Connection::Explain) and turn it into the process exit code (ExitCodeFor).
//
// A command is written as `return RunCommand(flags, io, [&](Connection& c) {
// ... LCSWEEP_RETURN_IF_ERROR(Call(c, &Stub::Method, req, &resp, "what")); ...
// return OkStatus(); })`: the body never prints an error itself.
// Thread-safety: Call is as thread-safe as the stub (gRPC stubs are); one
// RunCommand per process.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "cli/connection.h"
#include "cli/io.h"
#include "common/status.h"

namespace lcsweep::cli {

// Resolves the settings and waits for the channel (at most the timeout).
StatusOr<std::unique_ptr<Connection>> Connect(const ConnectionFlags& flags);

// Prints "error: <message>" to io.err; returns ExitCodeFor(status).
int ReportError(const Status& status, Io io);

// Connects, runs `body` and returns kExitOk, or reports the failed Status of
// the connection or the body and returns its exit code.
int RunCommand(const ConnectionFlags& flags, Io io, const std::function<Status(Connection&)>& body);

// One unary call with c.Context(): OK, or the failure explained with `what`
// ("listing sweeps", "job 7"). `Method` is a JobService::Stub member such as
// &v1::JobService::Stub::GetJob.
template <typename Stub, typename Request, typename Response>
Status Call(Connection& c, grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
            const Request& request, Response* response, const std::string& what) {
  auto ctx = c.Context();
  grpc::Status st = (c.jobs().*method)(ctx.get(), request, response);
  return st.ok() ? OkStatus() : c.Explain(st, what);
}

}  // namespace lcsweep::cli
