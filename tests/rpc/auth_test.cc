// TokenTable: file formats, refusal of bad files, and the role matrix.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/sha256.h"
#include "server/rpc/auth.h"

namespace lcsweep::rpc {
namespace {

constexpr const char* kA = "aaaaaaaaaaaaaaaa1111";
constexpr const char* kW = "wwwwwwwwwwwwwwww2222";
constexpr const char* kR = "rrrrrrrrrrrrrrrr3333";
constexpr const char* kC = "cccccccccccccccc4444";

std::string Bearer(const char* t) { return std::string("Bearer ") + t; }
// A tokens-file secret column: the digest `lcsweep token` writes.
std::string D(const char* t) { return "sha256:" + Sha256Hex(t); }

TEST(AuthTest, LinesAndJsonGiveTheSameTable) {
  std::string lines = "# operators\n" + D(kA) + " admin alice\n\n" + D(kW) +
                      " worker   # a worker without a name\n" + D(kR) + " read-only carol\n" + D(kC) +
                      " client bob\n";
  std::string json = R"({"tokens": [{"sha256": ")" + Sha256Hex(kA) +
                     R"(", "role": "admin", "name": "alice"}, {"sha256": ")" + Sha256Hex(kW) +
                     R"(", "role": "worker"}, {"sha256": ")" + Sha256Hex(kR) +
                     R"(", "role": "read-only", "name": "carol"}, {"sha256": ")" + Sha256Hex(kC) +
                     R"(", "role": "client", "name": "bob"}]})";
  for (const std::string& text : {lines, json}) {
    std::vector<std::string> warnings;
    StatusOr<TokenTable> t = TokenTable::Parse(text, &warnings);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_TRUE(warnings.empty()) << "digests are not deprecated: " << warnings[0];
    EXPECT_EQ(t->size(), 4u);
    StatusOr<Principal> p = t->Authorize(Bearer(kA), Access::kJobWrite);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->name, "alice");
    EXPECT_EQ(p->role, Role::kAdmin);
    EXPECT_EQ(t->Authorize(Bearer(kR), Access::kJobRead)->role, Role::kReadOnly);
  }
}

TEST(AuthTest, RoleMatrix) {
  StatusOr<TokenTable> t = TokenTable::Parse(D(kA) + " admin\n" + D(kW) + " worker\n" + D(kR) +
                                             " read-only\n" + D(kC) + " client\n");
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
  // Line 1 is the deprecated plaintext form, whose own rule (length) still holds.
  StatusOr<TokenTable> t = TokenTable::Parse("short admin\n" + D(kA) + " superuser\n" + D(kW) + "\n" +
                                             D(kR) + " read-only x extra\n" + D(kC) + " client\n" + D(kC) +
                                             " admin\n");
  ASSERT_FALSE(t.ok());
  const std::string& m = t.status().message();
  EXPECT_NE(m.find("line 1: token too short"), std::string::npos) << m;
  EXPECT_NE(m.find("line 2: unknown role \"superuser\""), std::string::npos) << m;
  EXPECT_NE(m.find("line 3: expected"), std::string::npos) << m;
  EXPECT_NE(m.find("line 4: expected"), std::string::npos) << m;
  EXPECT_NE(m.find("more than once"), std::string::npos) << m;
  EXPECT_FALSE(TokenTable::Parse("").ok());
  EXPECT_FALSE(TokenTable::Parse(R"({"tokens": [{"sha256": 5, "role": "admin"}]})").ok());
  EXPECT_FALSE(TokenTable::Parse("{broken").ok());
  EXPECT_EQ(TokenTable::Load("/nonexistent/tokens").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace lcsweep::rpc
