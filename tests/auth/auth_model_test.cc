// server/auth: the digest file format, the file-mode refusal, reload on a
// changed file, and sessions (expiry, sign-out, revocation by reload).
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "common/sha256.h"
#include "server/auth/credentials.h"
#include "server/auth/session_table.h"
#include "server/auth/token_table.h"

namespace lcsweep::auth {
namespace {

constexpr const char* kA = "aaaaaaaaaaaaaaaa1111";
constexpr const char* kR = "rrrrrrrrrrrrrrrr3333";

class TempFile {
 public:
  TempFile() : path_(std::filesystem::temp_directory_path() / ("lcsweep_auth_" + std::to_string(::getpid()) + "_" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name())) {}
  ~TempFile() { std::filesystem::remove(path_); }
  void Write(const std::string& text, mode_t mode = 0600) {
    std::ofstream(path_) << text;
    ::chmod(path_.c_str(), mode);
  }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

TEST(TokenTableTest, DigestLinesNeverHoldTheToken) {
  const std::string line = TokenFileLine(kA, Role::kAdmin, "alice");
  EXPECT_EQ(line, "sha256:" + Sha256Hex(kA) + " admin alice");
  EXPECT_EQ(line.find(kA), std::string::npos);
  std::vector<std::string> warnings;
  StatusOr<TokenTable> t = TokenTable::Parse(line + "\n", &warnings);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_TRUE(warnings.empty()) << warnings[0];
  StatusOr<Principal> p = t->Identify(kA);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->name, "alice");
  EXPECT_EQ(p->role, Role::kAdmin);
  EXPECT_EQ(t->Identify(std::string("sha256:") + Sha256Hex(kA)).status().code(), StatusCode::kUnauthenticated)
      << "the digest itself is not a password";
  EXPECT_EQ(t->Identify(kR).status().code(), StatusCode::kUnauthenticated);
}

TEST(TokenTableTest, JsonDigestsAndDeprecatedPlaintextAreReported) {
  std::vector<std::string> warnings;
  StatusOr<TokenTable> t = TokenTable::Parse(std::string(R"({"tokens": [{"sha256": ")") + Sha256Hex(kA) +
                                                 R"(", "role": "admin"}, {"token": ")" + kR +
                                                 R"(", "role": "read-only"}]})",
                                             &warnings);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_TRUE(t->Identify(kA).ok());
  EXPECT_TRUE(t->Identify(kR).ok());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("plaintext: deprecated"), std::string::npos) << warnings[0];
}

TEST(TokenTableTest, BadDigestsAreRefused) {
  StatusOr<TokenTable> t = TokenTable::Parse("sha256:abc admin\nsha256:" + std::string(64, 'G') + " admin\n");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("line 1: expected sha256:"), std::string::npos) << t.status().message();
  EXPECT_NE(t.status().message().find("line 2: expected sha256:"), std::string::npos) << t.status().message();
}

TEST(TokenTableTest, RefusesAFileGroupOrOthersCanOpen) {
  TempFile f;
  for (mode_t mode : {0640, 0604, 0644, 0620}) {
    f.Write(TokenFileLine(kA, Role::kAdmin, "a") + "\n", mode);
    StatusOr<TokenTable> t = TokenTable::Load(f.path());
    EXPECT_EQ(t.status().code(), StatusCode::kPermissionDenied) << std::oct << mode;
    EXPECT_NE(t.status().message().find("chmod 600"), std::string::npos) << t.status().message();
  }
  f.Write(TokenFileLine(kA, Role::kAdmin, "a") + "\n", 0600);
  EXPECT_TRUE(TokenTable::Load(f.path()).ok());
  f.Write(TokenFileLine(kA, Role::kAdmin, "a") + "\n", 0400);
  EXPECT_TRUE(TokenTable::Load(f.path()).ok());
}

TEST(CredentialsTest, ReloadSwapsTheTableAndABadFileKeepsTheOld) {
  TempFile f;
  f.Write(TokenFileLine(kA, Role::kAdmin, "a") + "\n");
  StatusOr<std::shared_ptr<Credentials>> c = Credentials::Load(f.path());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE((*c)->Authorize(kA, Access::kJobWrite).ok());
  EXPECT_FALSE((*c)->Identify(kR).ok());

  f.Write(TokenFileLine(kR, Role::kReadOnly, "r") + "\n");
  StatusOr<size_t> n = (*c)->Reload();
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ((*c)->Identify(kA).status().code(), StatusCode::kUnauthenticated) << "rotated out";
  EXPECT_TRUE((*c)->Authorize(kR, Access::kJobRead).ok());
  EXPECT_EQ((*c)->Authorize(kR, Access::kJobWrite).status().code(), StatusCode::kPermissionDenied);

  f.Write("garbage line\n");
  EXPECT_FALSE((*c)->Reload().ok());
  EXPECT_TRUE((*c)->Identify(kR).ok()) << "a bad file keeps the tokens in force";
  f.Write(TokenFileLine(kA, Role::kAdmin, "a") + "\n", 0644);
  EXPECT_EQ((*c)->Reload().status().code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE((*c)->Identify(kR).ok());
}

TEST(SessionTableTest, ExpirySignOutAndRevocation) {
  TempFile f;
  f.Write(TokenFileLine(kA, Role::kAdmin, "a") + "\n" + TokenFileLine(kR, Role::kReadOnly, "r") + "\n");
  auto creds = Credentials::Load(f.path());
  ASSERT_TRUE(creds.ok());
  int64_t now = 1000;
  SessionTable sessions(*creds, /*ttl_ms=*/500, [&now] { return now; });

  auto admin = (*creds)->Identify(kA);
  auto reader = (*creds)->Identify(kR);
  auto s1 = sessions.Create(*admin);
  auto s2 = sessions.Create(*reader);
  auto s3 = sessions.Create(*reader);
  ASSERT_TRUE(s1.ok() && s2.ok() && s3.ok());
  EXPECT_EQ(s1->id.size(), 64u);
  EXPECT_NE(s1->id, s2->id);
  EXPECT_NE(s1->csrf_token, s1->id);
  auto found = sessions.Find(s1->id);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->principal.role, Role::kAdmin);
  EXPECT_EQ(found->csrf_token, s1->csrf_token);
  EXPECT_FALSE(sessions.Find(s1->csrf_token).ok()) << "the CSRF token is not a session id";

  sessions.Remove(s2->id);
  EXPECT_EQ(sessions.Find(s2->id).status().code(), StatusCode::kUnauthenticated) << "signed out";
  EXPECT_TRUE(sessions.Find(s3->id).ok()) << "other sessions of the same token stay";

  // Rotating the reader's token out signs its sessions out at once.
  f.Write(TokenFileLine(kA, Role::kAdmin, "a") + "\n");
  ASSERT_TRUE((*creds)->Reload().ok());
  EXPECT_EQ(sessions.Find(s3->id).status().code(), StatusCode::kUnauthenticated);
  EXPECT_TRUE(sessions.Find(s1->id).ok());

  now += 499;
  EXPECT_TRUE(sessions.Find(s1->id).ok());
  now += 1;
  EXPECT_EQ(sessions.Find(s1->id).status().code(), StatusCode::kUnauthenticated) << "expired";
  EXPECT_EQ(sessions.size(), 0u);
}

}  // namespace
}  // namespace lcsweep::auth
