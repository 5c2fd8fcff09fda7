// The calls that wait, on gRPC's callback API: LeaseJob's long poll and the
// WatchJob / WatchSweep streams. Each is a reactor (gRPC's route_guide
// callback example) that does its work on whichever thread wakes it and,
// while it waits, is parked in FeedWaiters instead of holding a thread, so
// 2,000 idle workers cost 2,000 small objects (tests/bench/server/
// long_poll_bench.cc).
//
// Lifetime: each reactor deletes itself when gRPC calls OnDone, after its
// Finish; it is never parked then. Thread-safety: a reactor's methods run on
// gRPC's threads and the FeedWaiters thread; each serialises its own state.
#pragma once

#include <memory>

#include <grpcpp/grpcpp.h>

#include "lcsweep/v1/coordinator.grpc.pb.h"
#include "server/rpc/services.h"
#include "server/rpc/watch_session.h"

namespace lcsweep::rpc {

// Leases a job for `request`, waiting up to its wait_seconds (at most
// env.max_lease_wait_seconds) for one to become leasable.
grpc::ServerUnaryReactor* StartLeasePoll(const ServiceEnv* env,
                                         grpc::CallbackServerContext* context,
                                         const v1::LeaseJobRequest* request,
                                         v1::LeaseJobResponse* response);

// Streams `session` until it is finished, the client goes or the server
// stops (UNAVAILABLE).
grpc::ServerWriteReactor<v1::WatchResponse>* StartWatch(const ServiceEnv* env,
                                                        grpc::CallbackServerContext* context,
                                                        std::unique_ptr<WatchSession> session);

// A stream that ends at once with `status` (a refused watch).
grpc::ServerWriteReactor<v1::WatchResponse>* RefusedWatch(const grpc::Status& status);

}  // namespace lcsweep::rpc
