#include "server/rpc/metrics_interceptor.h"

#include <chrono>
#include <string>

#include <grpcpp/support/status.h>

#include "proto/convert.h"

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
      requests_->With({method_, GrpcCodeName(methods->GetSendStatus().error_code())})->Inc();
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
