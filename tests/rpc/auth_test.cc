// TokenTable: file formats, refusal of bad files, and the role matrix.
#include <gtest/gtest.h>

#include "server/rpc/auth.h"

namespace lcsweep::rpc {
namespace {

constexpr const char* kA = "aaaaaaaaaaaaaaaa1111";
constexpr const char* kW = "wwwwwwwwwwwwwwww2222";
constexpr const char* kR = "rrrrrrrrrrrrrrrr3333";
constexpr const char* kC = "cccccccccccccccc4444";

std::string Bearer(const char* t) { return std::string("Bearer ") + t; }

TEST(AuthTest, LinesAndJsonGiveTheSameTable) {
  std::string lines = std::string("# operators\n") + kA + " admin alice\n\n" + kW +
                      " worker   # a worker without a name\n" + kR + " read-only carol\n" + kC +
                      " client bob\n";
  std::string json = std::string(R"({"tokens": [{"token": ")") + kA +
                     R"(", "role": "admin", "name": "alice"}, {"token": ")" + kW +
                     R"(", "role": "worker"}, {"token": ")" + kR +
                     R"(", "role": "read-only", "name": "carol"}, {"token": ")" + kC +
                     R"(", "role": "client", "name": "bob"}]})";
  for (const std::string& text : {lines, json}) {
    StatusOr<TokenTable> t = TokenTable::Parse(text);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_EQ(t->size(), 4u);
    StatusOr<Principal> p = t->Authorize(Bearer(kA), Access::kJobWrite);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->name, "alice");
    EXPECT_EQ(p->role, Role::kAdmin);
    EXPECT_EQ(t->Authorize(Bearer(kR), Access::kJobRead)->role, Role::kReadOnly);
  }
}

TEST(AuthTest, RoleMatrix) {
  StatusOr<TokenTable> t = TokenTable::Parse(std::string(kA) + " admin\n" + kW + " worker\n" + kR +
                                             " read-only\n" + kC + " client\n");
  ASSERT_TRUE(t.ok());
  struct Case {
    const char* token;
    Access access;
    StatusCode want;
  } cases[] = {
      {kA, Access::kJobRead, StatusCode::kOk},     {kA, Access::kJobWrite, StatusCode::kOk},
      {kA, Access::kWorker, StatusCode::kOk},      {kC, Access::kJobRead, StatusCode::kOk},
      {kC, Access::kJobWrite, StatusCode::kOk},    {kC, Access::kWorker, StatusCode::kPermissionDenied},
      {kR, Access::kJobRead, StatusCode::kOk},     {kR, Access::kJobWrite, StatusCode::kPermissionDenied},
      {kR, Access::kWorker, StatusCode::kPermissionDenied},
      {kW, Access::kJobRead, StatusCode::kPermissionDenied},
      {kW, Access::kJobWrite, StatusCode::kPermissionDenied}, {kW, Access::kWorker, StatusCode::kOk},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(t->Authorize(Bearer(c.token), c.access).status().code(), c.want)
        << c.token << " " << AccessName(c.access);
  }
  EXPECT_EQ(t->Authorize("", Access::kJobRead).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(t->Authorize(kA, Access::kJobRead).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(t->Authorize("Bearer ", Access::kJobRead).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(t->Authorize(Bearer("aaaaaaaaaaaaaaaa111"), Access::kJobRead).status().code(),
            StatusCode::kUnauthenticated);  // a prefix of a real token
  EXPECT_EQ(t->Authorize(Bearer("aaaaaaaaaaaaaaaa11111"), Access::kJobRead).status().code(),
            StatusCode::kUnauthenticated);  // a real token plus one character
}

TEST(AuthTest, BadFilesAreRefusedWithEveryProblem) {
  StatusOr<TokenTable> t = TokenTable::Parse(std::string("short admin\n") + kA + " superuser\n" + kW +
                                             "\n" + kR + " read-only x extra\n" + kC + " client\n" +
                                             kC + " admin\n");
  ASSERT_FALSE(t.ok());
  const std::string& m = t.status().message();
  EXPECT_NE(m.find("line 1: token too short"), std::string::npos) << m;
  EXPECT_NE(m.find("line 2: unknown role \"superuser\""), std::string::npos) << m;
  EXPECT_NE(m.find("line 3: expected"), std::string::npos) << m;
  EXPECT_NE(m.find("line 4: expected"), std::string::npos) << m;
  EXPECT_NE(m.find("more than once"), std::string::npos) << m;
  EXPECT_FALSE(TokenTable::Parse("").ok());
  EXPECT_FALSE(TokenTable::Parse(R"({"tokens": [{"token": 5, "role": "admin"}]})").ok());
  EXPECT_FALSE(TokenTable::Parse("{broken").ok());
  EXPECT_EQ(TokenTable::Load("/nonexistent/tokens").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace lcsweep::rpc
