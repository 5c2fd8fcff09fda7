#include "cli/call.h"

namespace lcsweep::cli {

StatusOr<std::unique_ptr<Connection>> Connect(const ConnectionFlags& flags) {
  LCSWEEP_ASSIGN_OR_RETURN(ConnectionSettings settings, ResolveSettings(flags));
  auto conn = std::make_unique<Connection>(std::move(settings));
  LCSWEEP_RETURN_IF_ERROR(conn->WaitConnected());
  return conn;
}

int ReportError(const Status& status, Io io) {
  io.err << "error: " << status.message() << "\n";
  return ExitCodeFor(status);
}

int RunCommand(const ConnectionFlags& flags, Io io, const std::function<Status(Connection&)>& body) {
  auto conn = Connect(flags);
  if (!conn.ok()) return ReportError(conn.status(), io);
  Status st = body(**conn);
  return st.ok() ? kExitOk : ReportError(st, io);
}

}  // namespace lcsweep::cli
