// Connection settings of the lcsweep CLI and the channel built from them.
//
// Where each setting comes from, first match wins:
//   1. flags: --coordinator HOST:PORT, --token TOKEN, --token-file FILE, --tls-ca PEM,
//      --tls-cert PEM --tls-key PEM
//   2. environment: LCSWEEP_COORDINATOR, LCSWEEP_TOKEN (LCSWEEP_TOKEN_FILE, LCSWEEP_TLS_CA,
//      LCSWEEP_TLS_CERT, LCSWEEP_TLS_KEY)
//   3. config file: $XDG_CONFIG_HOME/lcsweep/config.json (else ~/.config/lcsweep/config.json),
//      a JSON object with any of "coordinator", "token", "token_file", "tls_ca", "tls_cert",
//      "tls_key" (overridden by --config FILE or LCSWEEP_CONFIG)
//   4. default coordinator 127.0.0.1:50051, no token, plaintext.
// TLS is used when a CA file is given (or "tls": true in the config file,
// which then trusts the system roots). A client certificate and key (mutual
// TLS, for a coordinator started with --tls-client-ca) also turn TLS on.
//
// When a connection fails at the TLS layer (wrong CA, expired certificate,
// plaintext against a TLS port, a missing client certificate), the error
// says so and what to fix (common/tls_diagnosis.h) instead of "cannot reach".
//
// Thread-safety: values; Connection's stubs are thread-safe (gRPC stubs).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "common/status.h"
#include "lcsweep/v1/coordinator.grpc.pb.h"

namespace lcsweep::cli {

inline constexpr const char* kDefaultCoordinator = "127.0.0.1:50051";

// What the flags said (empty = not given).
struct ConnectionFlags {
  std::string coordinator;
  std::string token;
  std::string token_file;
  std::string tls_ca;
  std::string tls_cert;  // client certificate (mutual TLS)
  std::string tls_key;
  std::string config_file;
  double timeout_seconds = 10;  // connect + per-call deadline for unary calls
};

struct ConnectionSettings {
  std::string coordinator = kDefaultCoordinator;
  std::string token;          // empty = none
  bool tls = false;
  std::string tls_ca_pem;     // PEM text; empty with tls = system roots
  std::string tls_cert_pem;   // client certificate chain (PEM text); empty = none
  std::string tls_key_pem;
  std::string source;         // where the coordinator address came from, for messages
  double timeout_seconds = 10;
};

// Resolves the settings (order above). INVALID_ARGUMENT for an unreadable
// token/CA file or a malformed config file, naming the file.
StatusOr<ConnectionSettings> ResolveSettings(const ConnectionFlags& flags);

class Connection {
 public:
  explicit Connection(ConnectionSettings settings);

  const ConnectionSettings& settings() const { return settings_; }
  v1::JobService::Stub& jobs() { return *job_stub_; }
  v1::WorkerService::Stub& workers() { return *worker_stub_; }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

  // A context carrying the bearer token and (when `deadline` is set) the
  // unary-call deadline.
  std::unique_ptr<grpc::ClientContext> Context(bool deadline = true) const;

  // Waits until the channel connects (at most the timeout). UNAVAILABLE with
  // the "cannot reach the coordinator at X" message otherwise.
  Status WaitConnected() const;

  // A grpc::Status of a call turned into a Status with a message for people:
  // UNAVAILABLE -> "cannot reach the coordinator at X: ...", UNAUTHENTICATED ->
  // "the coordinator at X refused the token ...", and so on.
  Status Explain(const grpc::Status& status, const std::string& what) const;

 private:
  // "cannot connect to the coordinator at X: <TLS cause and fix>", or "" when
  // the failure is not a TLS one (blocks up to a few seconds).
  std::string TlsProblem() const;

  ConnectionSettings settings_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::JobService::Stub> job_stub_;
  std::unique_ptr<v1::WorkerService::Stub> worker_stub_;
};

// Process exit codes (documented in `lcsweep --help` and the README).
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,       // generic failure; watch: some job failed or was cancelled
  kExitUsage = 2,         // bad flags or invalid input (sweep spec errors)
  kExitNotFound = 3,      // unknown sweep / job
  kExitAuth = 4,          // missing/unknown token or role not allowed
  kExitUnreachable = 5,   // coordinator unreachable (or not serving, for `health`)
};

// The exit code for an error status.
int ExitCodeFor(const Status& status);

}  // namespace lcsweep::cli
