#include "server/http/http_auth.h"

#include "common/ids.h"

namespace lcsweep {
namespace {

HttpDecision Refuse(int status, std::string error, std::string hint) {
  HttpDecision d;
  d.status = status;
  d.error = std::move(error);
  d.hint = std::move(hint);
  return d;
}

constexpr const char* kSignInHint =
    "sign in on the dashboard's page, or send Authorization: Bearer <token> (make one with `lcsweep token`)";

}  // namespace

bool IsStateChanging(std::string_view method) {
  return !(method == "GET" || method == "HEAD" || method == "OPTIONS");
}

RouteAccess RouteAccessFor(std::string_view method, std::string_view path) {
  if (path == "/healthz" || path == "/api/v1/healthz") return RouteAccess::kPublic;
  if (path == "/api/v1/session") return method == "POST" ? RouteAccess::kPublic : RouteAccess::kPrincipal;
  if (path == "/api/v1/whoami") return RouteAccess::kPrincipal;
  if (path == "/metrics") return RouteAccess::kRead;  // HttpOptions::metrics_public opens it
  if (path.compare(0, 5, "/api/") == 0 || path == "/api") {
    return IsStateChanging(method) ? RouteAccess::kWrite : RouteAccess::kRead;
  }
  if (path == "/" || path == "/index.html") return RouteAccess::kPage;
  return RouteAccess::kPublic;  // the front end's code, styles and the sign-in page
}

HttpAuth::HttpAuth(std::shared_ptr<auth::Credentials> credentials, int64_t session_ttl_ms,
                   auth::SessionTable::NowFn now)
    : credentials_(std::move(credentials)) {
  if (credentials_) sessions_ = std::make_unique<auth::SessionTable>(credentials_, session_ttl_ms, std::move(now));
}

std::string HttpAuth::CookieValue(std::string_view header, std::string_view name) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string_view::npos) end = header.size();
    std::string_view part = header.substr(pos, end - pos);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.size() > name.size() && part.compare(0, name.size(), name) == 0 && part[name.size()] == '=') {
      return std::string(part.substr(name.size() + 1));
    }
    pos = end + 1;
  }
  return "";
}

HttpDecision HttpAuth::Authenticate(const HttpCredentials& c, bool state_changing) {
  if (!enabled()) {
    HttpDecision d;
    d.principal.name = "anonymous";
    d.principal.role = auth::Role::kReadOnly;
    return d;
  }
  if (!c.authorization.empty()) {
    constexpr std::string_view kBearer = "Bearer ";
    if (c.authorization.size() <= kBearer.size() || c.authorization.compare(0, kBearer.size(), kBearer) != 0) {
      return Refuse(401, "malformed Authorization header", "send Authorization: Bearer <token>");
    }
    StatusOr<auth::Principal> p = credentials_->Identify(std::string_view(c.authorization).substr(kBearer.size()));
    if (!p.ok()) return Refuse(401, "the bearer token is not known to this coordinator", kSignInHint);
    HttpDecision d;
    d.principal = std::move(p).value();
    return d;
  }
  const std::string id = CookieValue(c.cookie, kCookieName);
  if (id.empty()) return Refuse(401, "not signed in", kSignInHint);
  StatusOr<auth::Session> s = sessions_->Find(id);
  if (!s.ok()) return Refuse(401, s.status().message(), "sign in again on the dashboard's page");
  if (state_changing && !ConstantTimeEquals(c.csrf, s->csrf_token)) {
    return Refuse(403, "missing or wrong X-CSRF-Token for this session",
                  "send the csrf_token from GET /api/v1/session in the X-CSRF-Token header");
  }
  HttpDecision d;
  d.principal = s->principal;
  d.via_session = true;
  d.session_csrf = s->csrf_token;
  d.session_expires_ms = s->expires_ms;
  return d;
}

HttpDecision HttpAuth::Check(std::string_view method, std::string_view path, const HttpCredentials& c) {
  const RouteAccess access = RouteAccessFor(method, path);
  if (access == RouteAccess::kPublic) return HttpDecision{};
  HttpDecision d = Authenticate(c, IsStateChanging(method));
  if (d.status != 200 || access == RouteAccess::kPrincipal || access == RouteAccess::kPage) return d;
  const auth::Access need = access == RouteAccess::kRead ? auth::Access::kJobRead : auth::Access::kJobWrite;
  Status allowed = auth::CheckRole(d.principal, need);
  if (!allowed.ok()) {
    return enabled() ? Refuse(403, allowed.message(), "use a token whose role allows it (docs/deployment.md, Roles)")
                     : Refuse(401, "authentication is off on this coordinator, so nothing may be changed here",
                              "start lcsweep-coordinator with --tokens-file and sign in with an admin or client token");
  }
  return d;
}

StatusOr<auth::SessionTable::Created> HttpAuth::SignIn(std::string_view token, auth::Principal* who) {
  if (!enabled()) return FailedPreconditionError("authentication is off on this coordinator (no --tokens-file)");
  StatusOr<auth::Principal> p = credentials_->Identify(token);
  if (!p.ok()) return UnauthenticatedError("the token is not known to this coordinator");
  if (who != nullptr) *who = *p;
  return sessions_->Create(*p);
}

void HttpAuth::SignOut(const HttpCredentials& c) {
  if (!sessions_) return;
  const std::string id = CookieValue(c.cookie, kCookieName);
  if (!id.empty()) sessions_->Remove(id);
}

std::string HttpAuth::SessionCookie(const std::string& id, bool secure) const {
  const int64_t seconds = sessions_ ? sessions_->ttl_ms() / 1000 : 0;
  return std::string(kCookieName) + "=" + id + "; Path=/; Max-Age=" + std::to_string(seconds) +
         "; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "");
}

std::string HttpAuth::ClearedCookie(bool secure) {
  return std::string(kCookieName) + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "");
}

}  // namespace lcsweep
