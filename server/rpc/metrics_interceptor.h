// A server interceptor that counts every gRPC call and times it, per method
// and status code, into a MetricsRegistry (common/metrics_registry.h):
//   lcsweep_rpc_requests_total{method,code}   calls finished, e.g.
//       method="/lcsweep.v1.WorkerService/Heartbeat", code="OK"
//   lcsweep_rpc_duration_seconds{method}      time from the call's arrival to
//       its status being sent (for a stream: the stream's whole life)
// The method label is the full gRPC path, so the set of series is bounded by
// the services' methods (unknown methods never reach an interceptor).
//
// Ownership: the factory borrows the registry, which must outlive the server.
// Thread-safety: one interceptor per call (gRPC's contract); the factory and
// the registry's families are shared and thread-safe.
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include "common/metrics_registry.h"

namespace lcsweep::rpc {

class MetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(MetricsRegistry* registry);
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  CounterFamily* requests_;
  HistogramFamily* duration_;
};

}  // namespace lcsweep::rpc
