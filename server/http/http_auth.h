// HttpAuth: who is asking on the dashboard's HTTP port, and may they. The
// decision is made here, without HTTP library types, so that it can be tested
// by calling it directly; the token table, the role rules and the sessions are
// server/auth's, the same ones the gRPC port uses.
//
// Two ways in:
//   * Authorization: Bearer <token> (scripts, curl). No CSRF check: a
//     browser never attaches this header to a cross-site request by itself.
//   * The session cookie set by sign-in (POST /api/v1/session), for the
//     page. Every state-changing request made with it (POST, PUT, DELETE)
//     must also send X-CSRF-Token equal to the session's CSRF token.
// Bearer wins when both are sent.
//
// Route policy (RouteAccessFor): GET /healthz and /api/v1/healthz, the sign-in
// POST /api/v1/session, and the front end's static files are open; every
// other /api/ route needs a principal: GET with a role that may read
// (auth::Access::kJobRead), anything else with one that may write
// (kJobWrite). GET/DELETE /api/v1/session and /api/v1/whoami need a
// principal of any role; GET /metrics needs one that may read, as the API
// does. The page itself ("/", "/index.html") is sent only to a signed-in
// browser; others are redirected to the sign-in page.
//
// Without a tokens file (Credentials null) authentication is off: every
// request is the anonymous read-only principal, so reads work on loopback
// and no mutation is possible (a page on any other site could otherwise
// drive a local dashboard's buttons).
//
// Thread-safety: every method may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "server/auth/credentials.h"
#include "server/auth/session_table.h"

namespace lcsweep {

// What a request presented (raw header values; empty when absent).
struct HttpCredentials {
  std::string authorization;  // Authorization
  std::string cookie;         // Cookie
  std::string csrf;           // X-CSRF-Token
};

enum class RouteAccess {
  kPublic,      // health checks, sign-in, static files
  kPage,        // the app's HTML: signed-in browsers only, else a redirect
  kPrincipal,   // any known principal (whoami, session info, sign-out)
  kRead,        // auth::Access::kJobRead
  kWrite,       // auth::Access::kJobWrite
};
RouteAccess RouteAccessFor(std::string_view method, std::string_view path);
// True for methods that change state (everything but GET, HEAD, OPTIONS).
bool IsStateChanging(std::string_view method);

struct HttpDecision {
  int status = 200;             // 200 = allowed; else 401 or 403
  std::string error, hint;      // when refused
  auth::Principal principal;    // when allowed
  bool via_session = false;
  std::string session_csrf;     // the session's CSRF token, when via_session
  int64_t session_expires_ms = 0;
};

class HttpAuth {
 public:
  static constexpr const char* kCookieName = "lcsweep_session";
  static constexpr const char* kCsrfHeader = "X-CSRF-Token";

  // `credentials` null = authentication off (see above).
  HttpAuth(std::shared_ptr<auth::Credentials> credentials, int64_t session_ttl_ms,
           auth::SessionTable::NowFn now = nullptr);

  bool enabled() const { return credentials_ != nullptr; }

  // The decision for a request of `method` to `path`.
  HttpDecision Check(std::string_view method, std::string_view path, const HttpCredentials& c);

  // Sign-in with a bearer token: a new session. UNAUTHENTICATED for an
  // unknown token, FAILED_PRECONDITION when authentication is off.
  StatusOr<auth::SessionTable::Created> SignIn(std::string_view token, auth::Principal* who);
  // Ends the session named by the request's cookie, if any.
  void SignOut(const HttpCredentials& c);

  // Set-Cookie values for a new session and for signing out. `secure` adds
  // the Secure attribute (the port speaks TLS).
  std::string SessionCookie(const std::string& id, bool secure) const;
  static std::string ClearedCookie(bool secure);
  // The value of cookie `name` in a Cookie header ("" if absent).
  static std::string CookieValue(std::string_view cookie_header, std::string_view name);

 private:
  HttpDecision Authenticate(const HttpCredentials& c, bool state_changing);

  const std::shared_ptr<auth::Credentials> credentials_;
  std::unique_ptr<auth::SessionTable> sessions_;  // null when authentication is off
};

}  // namespace lcsweep
