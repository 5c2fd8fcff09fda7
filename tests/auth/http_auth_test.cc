// HttpAuth: the dashboard's route policy and its bearer / cookie + CSRF
// decisions, on the real server/auth tables (the full matrix against the real
// binary is tests/security/http_roles_test.py).
#include "server/http/http_auth.h"

#include <gtest/gtest.h>

#include "server/auth/token_table.h"

namespace lcsweep {
namespace {

constexpr const char* kA = "aaaaaaaaaaaaaaaa1111";
constexpr const char* kR = "rrrrrrrrrrrrrrrr3333";
constexpr const char* kW = "wwwwwwwwwwwwwwww2222";

std::shared_ptr<auth::Credentials> Creds() {
  auto t = auth::TokenTable::Parse(auth::TokenFileLine(kA, auth::Role::kAdmin, "a") + "\n" +
                                   auth::TokenFileLine(kR, auth::Role::kReadOnly, "r") + "\n" +
                                   auth::TokenFileLine(kW, auth::Role::kWorker, "w") + "\n");
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return auth::Credentials::FromTable(std::move(t).value());
}

HttpCredentials Bearer(const char* t) { return {std::string("Bearer ") + t, "", ""}; }

TEST(HttpAuthTest, RoutePolicy) {
  EXPECT_EQ(RouteAccessFor("GET", "/healthz"), RouteAccess::kPublic);
  EXPECT_EQ(RouteAccessFor("POST", "/api/v1/session"), RouteAccess::kPublic);
  EXPECT_EQ(RouteAccessFor("DELETE", "/api/v1/session"), RouteAccess::kPrincipal);
  EXPECT_EQ(RouteAccessFor("GET", "/api/v1/sweeps"), RouteAccess::kRead);
  EXPECT_EQ(RouteAccessFor("GET", "/api/v1/stream"), RouteAccess::kRead);
  EXPECT_EQ(RouteAccessFor("POST", "/api/v1/jobs/3/cancel"), RouteAccess::kWrite);
  EXPECT_EQ(RouteAccessFor("GET", "/"), RouteAccess::kPage);
  EXPECT_EQ(RouteAccessFor("GET", "/login.html"), RouteAccess::kPublic);
  EXPECT_EQ(RouteAccessFor("GET", "/metrics"), RouteAccess::kRead);
}

TEST(HttpAuthTest, MetricsNeedATokenThatMayRead) {
  HttpAuth a(Creds(), 60'000);
  EXPECT_EQ(a.Check("GET", "/metrics", {}).status, 401);
  EXPECT_EQ(a.Check("GET", "/metrics", Bearer(kR)).status, 200);
  EXPECT_EQ(a.Check("GET", "/metrics", Bearer(kW)).status, 403) << "workers read nothing";
}

TEST(HttpAuthTest, BearerTokensFollowTheSharedRoles) {
  HttpAuth a(Creds(), 60'000);
  EXPECT_EQ(a.Check("GET", "/api/v1/sweeps", {}).status, 401);
  EXPECT_EQ(a.Check("GET", "/api/v1/sweeps", Bearer("not-a-known-token-xyz")).status, 401);
  EXPECT_EQ(a.Check("GET", "/api/v1/sweeps", {kA, "", ""}).status, 401) << "no Bearer prefix";
  EXPECT_EQ(a.Check("GET", "/api/v1/sweeps", Bearer(kR)).status, 200);
  EXPECT_EQ(a.Check("POST", "/api/v1/jobs/1/cancel", Bearer(kR)).status, 403);
  EXPECT_EQ(a.Check("POST", "/api/v1/jobs/1/cancel", Bearer(kA)).status, 200) << "no CSRF for bearer";
  EXPECT_EQ(a.Check("GET", "/api/v1/sweeps", Bearer(kW)).status, 403) << "workers read nothing";
  EXPECT_EQ(a.Check("GET", "/api/v1/whoami", Bearer(kW)).status, 200);
}

TEST(HttpAuthTest, SessionCookieNeedsCsrfForChanges) {
  int64_t now = 0;
  HttpAuth a(Creds(), 1000, [&now] { return now; });
  auth::Principal who;
  auto s = a.SignIn(kA, &who);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(who.role, auth::Role::kAdmin);
  EXPECT_FALSE(a.SignIn("not-a-known-token-xyz", nullptr).ok());

  const std::string set_cookie = a.SessionCookie(s->id, /*secure=*/true);
  EXPECT_NE(set_cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(set_cookie.find("SameSite=Strict"), std::string::npos);
  EXPECT_NE(set_cookie.find("Secure"), std::string::npos);
  EXPECT_EQ(a.SessionCookie(s->id, false).find("Secure"), std::string::npos);

  const std::string cookie = "theme=dark; " + std::string(HttpAuth::kCookieName) + "=" + s->id + "; x=1";
  EXPECT_EQ(HttpAuth::CookieValue(cookie, HttpAuth::kCookieName), s->id);
  HttpDecision read = a.Check("GET", "/api/v1/sweeps", {"", cookie, ""});
  EXPECT_EQ(read.status, 200);
  EXPECT_TRUE(read.via_session);
  EXPECT_EQ(read.session_csrf, s->csrf_token);
  EXPECT_EQ(a.Check("POST", "/api/v1/jobs/1/cancel", {"", cookie, ""}).status, 403) << "no CSRF header";
  EXPECT_EQ(a.Check("POST", "/api/v1/jobs/1/cancel", {"", cookie, s->id}).status, 403) << "wrong CSRF header";
  EXPECT_EQ(a.Check("POST", "/api/v1/jobs/1/cancel", {"", cookie, s->csrf_token}).status, 200);

  a.SignOut({"", cookie, s->csrf_token});
  EXPECT_EQ(a.Check("GET", "/api/v1/sweeps", {"", cookie, ""}).status, 401) << "signed out";

  auto s2 = a.SignIn(kA, nullptr);
  ASSERT_TRUE(s2.ok());
  const std::string cookie2 = std::string(HttpAuth::kCookieName) + "=" + s2->id;
  now += 1000;
  EXPECT_EQ(a.Check("GET", "/api/v1/sweeps", {"", cookie2, ""}).status, 401) << "expired";
}

TEST(HttpAuthTest, WithoutTokensEveryoneReadsAndNobodyWrites) {
  HttpAuth a(nullptr, 1000);
  EXPECT_EQ(a.Check("GET", "/api/v1/sweeps", {}).status, 200);
  EXPECT_EQ(a.Check("GET", "/", {}).status, 200);
  EXPECT_EQ(a.Check("POST", "/api/v1/jobs/1/cancel", {}).status, 401);
  EXPECT_EQ(a.SignIn(kA, nullptr).status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace lcsweep
