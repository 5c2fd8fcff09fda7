#include "server/auth/session_table.h"

#include <chrono>

#include "common/ids.h"
#include "common/sha256.h"

namespace lcsweep::auth {
namespace {

int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

SessionTable::SessionTable(std::shared_ptr<const Credentials> credentials, int64_t ttl_ms, NowFn now)
    : credentials_(std::move(credentials)), ttl_ms_(ttl_ms), now_(now ? std::move(now) : NowFn(SteadyNowMs)) {}

void SessionTable::PurgeExpiredLocked(int64_t now) {
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    it = it->second.expires_ms <= now ? sessions_.erase(it) : std::next(it);
  }
}

StatusOr<SessionTable::Created> SessionTable::Create(const Principal& principal) {
  StatusOr<std::string> id = NewSecretToken(32);
  if (!id.ok()) return id.status();
  StatusOr<std::string> csrf = NewSecretToken(32);
  if (!csrf.ok()) return csrf.status();
  const int64_t now = now_();
  Created out{std::move(id).value(), std::move(csrf).value(), now + ttl_ms_};
  std::lock_guard<std::mutex> lock(mu_);
  if (sessions_.size() >= kMaxSessions) PurgeExpiredLocked(now);
  if (sessions_.size() >= kMaxSessions) {
    return ResourceExhaustedError("too many open dashboard sessions; sign out elsewhere or wait for them to expire");
  }
  sessions_[Sha256Hex(out.id)] = Session{principal, out.csrf_token, out.expires_ms};
  return out;
}

StatusOr<Session> SessionTable::Find(std::string_view id) {
  const std::string key = Sha256Hex(id);
  Session s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sessions_.find(key);
    if (it == sessions_.end()) return UnauthenticatedError("no such session (signed out, or the coordinator restarted)");
    if (it->second.expires_ms <= now_()) {
      sessions_.erase(it);
      return UnauthenticatedError("the session expired; sign in again");
    }
    s = it->second;
  }
  if (!credentials_->Contains(s.principal.token_sha256)) {
    Remove(id);
    return UnauthenticatedError("the session's token was removed from the tokens file; sign in again");
  }
  return s;
}

void SessionTable::Remove(std::string_view id) {
  const std::string key = Sha256Hex(id);
  std::lock_guard<std::mutex> lock(mu_);
  sessions_.erase(key);
}

size_t SessionTable::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.size();
}

}  // namespace lcsweep::auth
