// GrpcCoordinatorClient: the agent's CoordinatorClient over gRPC
// (lcsweep.v1.WorkerService). Adds the bearer token to every call, puts a
// deadline on each, and maps gRPC codes onto lcsweep::Status one-to-one.
// Thread-safe (gRPC stubs are).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "worker/agent/coordinator_client.h"

namespace lcsweep::agent {

struct GrpcClientOptions {
  std::string target;          // HOST:PORT
  std::string token;           // bearer token; empty = none
  std::string tls_ca_file;     // PEM root certificates; empty = plaintext
  std::chrono::milliseconds call_timeout{15000};
  size_t chunk_bytes = 1 << 20;
};

// Reads a token file (first non-empty line, trimmed). Errors name the file.
StatusOr<std::string> ReadTokenFile(const std::string& path);

std::unique_ptr<CoordinatorClient> MakeGrpcCoordinatorClient(const GrpcClientOptions& options);

}  // namespace lcsweep::agent
