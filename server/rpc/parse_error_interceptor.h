// A server interceptor that turns gRPC's answer to a request protobuf could
// not parse (INTERNAL with an empty message) into INVALID_ARGUMENT saying
// what is wrong. The usual cause is text that is not UTF-8 in a `string`
// field: free-text request fields are `bytes` and checked by
// request_checks.h (which names the field), but map keys (worker labels and
// versions, progress metric names) and the strings of nested data messages
// (Device, MetricPoint) are `string`, and protobuf refuses the whole message
// before any handler runs, so the field cannot be named here.
//
// Thread-safety: one interceptor per call (gRPC's contract); the factory is
// stateless.
#pragma once

#include <grpcpp/support/server_interceptor.h>

namespace lcsweep::rpc {

class ParseErrorInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;
};

}  // namespace lcsweep::rpc
