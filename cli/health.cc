#include "cli/health.h"

#include <condition_variable>
#include <mutex>
#include <vector>

#include <grpcpp/generic/generic_stub.h>

#include "cli/call.h"

namespace lcsweep::cli {

int ServingStatusOf(const std::string& bytes) {
  // HealthCheckResponse{status = 1 (SERVING)} is the bytes 08 01.
  if (bytes.size() >= 2 && bytes[0] == 0x08) return static_cast<unsigned char>(bytes[1]);
  return 0;
}

const char* ServingStatusName(int status) {
  static const char* kNames[] = {"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"};
  return status >= 0 && status < 4 ? kNames[status] : "UNKNOWN";
}

int RunHealth(const ConnectionFlags& flags, const std::string& address, Io io) {
  auto settings = ResolveSettings(flags);
  if (!settings.ok()) return ReportError(settings.status(), io);
  if (!address.empty()) {
    settings->coordinator = address;
    settings->source = "the argument";
  }
  Connection c(*settings);
  Status connected = c.WaitConnected();
  if (!connected.ok()) return ReportError(connected, io);
  // A generic call, so that the CLI carries no health proto:
  // HealthCheckRequest{service: ""}, which is the empty message.
  grpc::GenericStub stub(c.channel());
  std::string empty;
  grpc::Slice slice(empty);
  grpc::ByteBuffer request(&slice, 1), response;
  auto ctx = c.Context();
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(ctx.get(), "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   std::lock_guard<std::mutex> lock(mu);
                   status = std::move(s);
                   done = true;
                   cv.notify_one();
                 });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done; });
  }
  if (!status.ok()) return ReportError(c.Explain(status, "health check of " + settings->coordinator), io);
  std::vector<grpc::Slice> slices;
  (void)response.Dump(&slices);
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  int serving = ServingStatusOf(bytes);
  if (serving == 1) {
    io.out << settings->coordinator << ": SERVING\n";
    return kExitOk;
  }
  io.err << "error: " << settings->coordinator << ": " << ServingStatusName(serving) << "\n";
  return kExitUnreachable;
}

}  // namespace lcsweep::cli
