// `lcsweep health`: grpc.health.v1.Health/Check, which needs no token.
// Thread-safety: one RunHealth per process.
#pragma once

#include <string>

#include "cli/connection.h"
#include "cli/io.h"

namespace lcsweep::cli {

// Checks `address` (empty = the configured coordinator); 0 when SERVING,
// kExitUnreachable otherwise.
int RunHealth(const ConnectionFlags& flags, const std::string& address, Io io);

// The serving status in the bytes of a HealthCheckResponse (field 1,
// varint): 1 = SERVING; 0 (UNKNOWN) when the field is absent.
int ServingStatusOf(const std::string& response_bytes);
// "UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN".
const char* ServingStatusName(int status);

}  // namespace lcsweep::cli
