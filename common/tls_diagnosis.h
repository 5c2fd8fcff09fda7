// DiagnoseTls: why a client's connection to the coordinator fails at the TLS
// layer, in one line that says what to fix. gRPC reports every such failure
// as UNAVAILABLE with at best "certificate verify failed" (and a plaintext
// client talking to a TLS port sees only "Socket closed"), which reads like
// "the coordinator is down". The CLI and the worker call this when a
// connection fails: it repeats the handshake with OpenSSL, with the same CA,
// host name and client certificate, and names the cause:
//   * the client speaks plaintext to a TLS port (or TLS to a plaintext one);
//   * the server's certificate expired or is not yet valid;
//   * it is signed by a CA that is not in --tls-ca;
//   * it does not name the host the client dialled;
//   * the server requires a client certificate, or refuses the one sent.
// Returns "" when the handshake works or nothing answers on the port (then
// the caller's "cannot reach the coordinator" message is the right one).
//
// Blocking: at most about 2 x `timeout` (connect, then handshake and one
// read). Thread-safety: any number of concurrent calls.
#pragma once

#include <chrono>
#include <string>

namespace lcsweep {

struct TlsClientSettings {
  std::string target;      // HOST:PORT (a [v6]:PORT too) as the client dials it
  bool tls = false;        // the client connects with TLS
  std::string ca_pem;      // trusted roots (PEM text); empty with tls = the system's
  std::string cert_pem;    // client certificate chain (PEM), for mutual TLS; may be empty
  std::string key_pem;     // its private key (PEM)
};

std::string DiagnoseTls(const TlsClientSettings& settings,
                        std::chrono::milliseconds timeout = std::chrono::seconds(3));

}  // namespace lcsweep
