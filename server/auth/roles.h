// The role policy shared by every door of the coordinator (the gRPC port,
// server/rpc, and the dashboard's HTTP port, server/http): which role may
// make which kind of call. This file is the only place the rules live.
//
//   role        reads (jobs, sweeps,   mutations (submit,   WorkerService
//               results, metrics,      cancel, retry)       (lease, report,
//               workers, events)                             complete)
//   admin       yes                    yes                  yes
//   client      yes                    yes                  no
//   read-only   yes                    no                   no
//   worker      no                     no                   yes
//
// A client may cancel and retry any sweep's jobs, not only its own: sweeps
// carry no owner, and over gRPC a client token could already do so, so a
// narrower rule on one port would protect nothing.
//
// Thread-safety: pure functions.
#pragma once

#include <string_view>

namespace lcsweep::auth {

enum class Role { kAdmin, kClient, kReadOnly, kWorker };

// What a call needs.
enum class Access {
  kJobRead,   // reads: Get*, List*, Watch*, results, metrics, workers, dry runs, the live stream
  kJobWrite,  // mutations: SubmitSweep, Cancel*, RetryJob
  kWorker,    // every WorkerService call
};

// "admin", "client", "read-only", "worker".
const char* RoleName(Role role);
// The inverse of RoleName; false for anything else.
bool ParseRole(std::string_view name, Role* role);
const char* AccessName(Access access);
bool RoleAllows(Role role, Access access);

}  // namespace lcsweep::auth
