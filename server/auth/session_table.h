// SessionTable: the dashboard's browser sessions. A sign-in (POST
// /api/v1/session with a token) creates one; the browser keeps only its id,
// in an HttpOnly cookie, so page scripts never hold a bearer token.
//
// Each session carries a CSRF token (sent to the page once, at sign-in and
// on GET /api/v1/session) that every state-changing request must echo in the
// X-CSRF-Token header: a cross-site form or fetch can make the browser send
// the cookie but cannot read the CSRF token.
//
// A session ends at its expiry (absolute, from sign-in), at sign-out, or as
// soon as its token leaves the tokens file (Find re-checks the digest against
// the current Credentials, so rotating a token on SIGHUP also signs its
// browsers out). Session ids are 256 random bits; the table is keyed by their
// SHA-256, so a memory dump of the table cannot be replayed as cookies.
//
// Thread-safety: every method may be called concurrently.
// Ownership: shares the Credentials; owns the sessions.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/status.h"
#include "server/auth/credentials.h"

namespace lcsweep::auth {

struct Session {
  Principal principal;
  std::string csrf_token;  // 64 hex digits
  int64_t expires_ms = 0;  // on the table's clock
};

class SessionTable {
 public:
  // Milliseconds on some fixed clock (tests pass a fake one).
  using NowFn = std::function<int64_t()>;
  static constexpr size_t kMaxSessions = 10000;

  SessionTable(std::shared_ptr<const Credentials> credentials, int64_t ttl_ms, NowFn now = nullptr);

  struct Created {
    std::string id;          // the cookie value (64 hex digits)
    std::string csrf_token;
    int64_t expires_ms = 0;
  };
  // A new session for `principal`. RESOURCE_EXHAUSTED when kMaxSessions live
  // sessions exist; UNAVAILABLE when no randomness can be had.
  StatusOr<Created> Create(const Principal& principal);
  // The live session with this id; UNAUTHENTICATED when unknown, expired or
  // its token was removed from the tokens file (the session is dropped then).
  StatusOr<Session> Find(std::string_view id);
  // Signs out; unknown ids are ignored.
  void Remove(std::string_view id);
  size_t size() const;
  int64_t ttl_ms() const { return ttl_ms_; }

 private:
  void PurgeExpiredLocked(int64_t now);

  const std::shared_ptr<const Credentials> credentials_;
  const int64_t ttl_ms_;
  const NowFn now_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Session> sessions_;  // by SHA-256 of the id; guarded by mu_
};

}  // namespace lcsweep::auth
