#include "server/rpc/metrics_interceptor.h"

#include <chrono>
#include <string>

#include <grpcpp/support/status.h>

namespace lcsweep::rpc {
namespace {

using grpc::experimental::InterceptionHookPoints;

class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(std::string method, CounterFamily* requests, Histogram* duration)
      : method_(std::move(method)), requests_(requests), duration_(duration),
        start_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      duration_->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
      requests_->With({method_, StatusCodeName(methods->GetSendStatus().error_code())})->Inc();
    }
    methods->Proceed();
  }

 private:
  const std::string method_;
  CounterFamily* const requests_;
  Histogram* const duration_;
  const std::chrono::steady_clock::time_point start_;
};

}  // namespace

const char* StatusCodeName(grpc::StatusCode code) {
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

MetricsInterceptorFactory::MetricsInterceptorFactory(MetricsRegistry* registry)
    : requests_(registry->AddCounter("lcsweep_rpc_requests_total", "gRPC calls finished, per method and status code",
                                     {"method", "code"})),
      duration_(registry->AddHistogram("lcsweep_rpc_duration_seconds",
                                       "gRPC call time from arrival to status (streams: their whole life)",
                                       {"method"}, HistogramBuckets::Latency())) {}

grpc::experimental::Interceptor* MetricsInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  std::string method = info->method() ? info->method() : "?";
  Histogram* duration = duration_->With({method});
  return new MetricsInterceptor(std::move(method), requests_, duration);
}

}  // namespace lcsweep::rpc
