// HttpServer: the coordinator's dashboard port. Serves the JSON API
// (json_api.h), the static front end (web/, copied into the build tree by
// web/CMakeLists.txt) and the live stream GET /api/v1/stream (server-sent
// events: "job" on a state change, "metrics" when a job reported points,
// "worker", "sweep", and "hello" on connect or when the stream fell behind).
//
// Auth (http_auth.h): every route but the health checks (GET /healthz,
// /api/v1/healthz), the sign-in and the front end's static files needs a
// principal: a bearer token, or the session cookie that sign-in sets, checked
// against the same auth::Credentials and role rules as the gRPC port.
// Session routes:
//   POST   /api/v1/session   {"token": "..."} (Content-Type: application/json)
//                            -> Set-Cookie (HttpOnly, SameSite=Strict, Secure
//                            with TLS) and {"role", "name", "csrf_token",
//                            "expires_in_seconds"}
//   GET    /api/v1/session   the signed-in principal and its csrf_token
//   DELETE /api/v1/session   sign out (needs X-CSRF-Token like every mutation)
// Metrics: GET /metrics answers HttpOptions::metrics in the Prometheus text
// format (404 when there is none); it needs a principal that may read (a
// bearer token: Prometheus's `authorization` scrape setting) unless
// HttpOptions::metrics_public opens it (--metrics-public).
//
// TLS: with tls_cert_file and tls_key_file the port speaks only HTTPS
// (cpp-httplib's SSLServer on OpenSSL), with the same PEM files as gRPC.
//
// Usage (server/main.cc):
//   lcsweep::HttpOptions http;
//   http.listen = "127.0.0.1:8080";   // --http-listen; port 0 picks a free port
//   http.credentials = tokens.credentials();   // shared with the gRPC port
//   lcsweep::HttpServer dashboard(coordinator.get(), http);
//   LCSWEEP_RETURN_IF_ERROR(dashboard.Start());   // serves on its own threads
//   ...
//   dashboard.Stop();                              // before the Coordinator dies
//
// Ownership: does not own the Coordinator, which must outlive the server.
// Thread-safety: Start/Stop from one thread; requests run on the server's pool.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "common/metrics_registry.h"
#include "common/status.h"
#include "server/auth/credentials.h"
#include "server/core/coordinator.h"

namespace httplib {
class Server;
}

namespace lcsweep {

class HttpAuth;
class JsonApi;

struct HttpOptions {
  std::string listen = "127.0.0.1:8080";     // HOST:PORT
  // Folder with index.html, js/, vendor/. "" = the first that exists of
  // $LCSWEEP_WEB_ROOT, <build>/web-root (this build tree) and <prefix>/share/lcsweep/web.
  std::string web_root;
  // Tokens and roles; null = authentication off (anonymous read-only, see http_auth.h).
  std::shared_ptr<auth::Credentials> credentials;
  std::string tls_cert_file;                  // PEM; HTTPS when both are set
  std::string tls_key_file;
  int64_t session_ttl_seconds = 12 * 3600;    // a browser session's life from sign-in
  int threads = 32;                           // request threads; each open live stream holds one
  // Served at GET /metrics; borrowed, must outlive the server. null = no /metrics.
  const MetricsRegistry* metrics = nullptr;
  bool metrics_public = false;                // /metrics without a token
};

// The default web root as described under HttpOptions::web_root ("" if none exists).
std::string DefaultWebRoot();

class HttpServer {
 public:
  HttpServer(Coordinator* coordinator, HttpOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts serving on a background thread. INVALID_ARGUMENT for a
  // malformed listen address or a half-given / unreadable certificate pair,
  // UNAVAILABLE when the port cannot be bound.
  // A missing web root is logged (the API still works) rather than fatal.
  Status Start();
  // Closes live streams, stops accepting and joins the threads. Idempotent.
  void Stop();
  // The bound port (after Start), useful with port 0.
  int port() const { return port_; }
  const std::string& web_root() const { return web_root_; }
  bool tls() const { return tls_; }

 private:
  void Route();
  void RouteSession();

  std::unique_ptr<HttpAuth> auth_;
  bool tls_ = false;

  Coordinator* const coordinator_;
  HttpOptions options_;
  std::string web_root_;
  std::unique_ptr<JsonApi> api_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::thread warmup_;  // fills the API's job cache once at start
  int port_ = 0;
  std::atomic<bool> stopping_{false};
};

}  // namespace lcsweep
