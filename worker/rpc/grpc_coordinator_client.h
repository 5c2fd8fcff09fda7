// GrpcCoordinatorClient: the agent's CoordinatorClient over gRPC
// (lcsweep.v1.WorkerService). Adds the bearer token to every call, puts a
// deadline on each, and maps gRPC codes onto lcsweep::Status one-to-one, with
// one exception: a Register that fails because the TLS settings cannot work
// with the coordinator (wrong CA, expired certificate, plaintext against a TLS
// port, a missing client certificate: common/tls_diagnosis.h) returns
// INVALID_ARGUMENT saying what to fix, which the agent does not retry: no
// amount of waiting mends a certificate.
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
  std::string tls_cert_file;   // PEM client certificate (mutual TLS; implies TLS); empty = none
  std::string tls_key_file;    // its private key
  std::chrono::milliseconds call_timeout{15000};
  size_t chunk_bytes = 1 << 20;
};

// Reads a token file (first non-empty line, trimmed). Errors name the file.
StatusOr<std::string> ReadTokenFile(const std::string& path);

// INVALID_ARGUMENT naming the file when a TLS file cannot be read.
StatusOr<std::unique_ptr<CoordinatorClient>> MakeGrpcCoordinatorClient(const GrpcClientOptions& options);

}  // namespace lcsweep::agent
