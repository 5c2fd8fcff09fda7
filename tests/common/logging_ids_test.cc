#include <cstdlib>
#include <set>

#include <gtest/gtest.h>

#include "common/ids.h"
#include "common/logging.h"

namespace lcsweep {
namespace {

TEST(IdsTest, NewIdHasPrefixAndIsUnique) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewId("job");
    ASSERT_EQ(id.rfind("job-", 0), 0u);
    ASSERT_EQ(id.size(), 4u + 24u);
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(IdsTest, SecretTokens) {
  auto a = NewSecretToken();
  auto b = NewSecretToken();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 64u);
  EXPECT_NE(*a, *b);
  EXPECT_EQ(a->find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_FALSE(NewSecretToken(0).ok());
  EXPECT_TRUE(ConstantTimeEquals(*a, *a));
  EXPECT_FALSE(ConstantTimeEquals(*a, *b));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
}

TEST(LoggingTest, LevelsFromFlagThenEnv) {
  EXPECT_FALSE(ParseLogLevel("loud").ok());
  ASSERT_TRUE(SetupLogging("debug").ok());
  auto log = GetLogger("test_subsystem");
  EXPECT_EQ(log, GetLogger("test_subsystem"));
  EXPECT_EQ(log->name(), "test_subsystem");
  EXPECT_EQ(log->level(), spdlog::level::debug);
  setenv("LCSWEEP_LOG_LEVEL", "warn", 1);
  ASSERT_TRUE(SetupLogging("").ok());
  EXPECT_EQ(log->level(), spdlog::level::warn);
  EXPECT_EQ(GetLogger("another")->level(), spdlog::level::warn);
  setenv("LCSWEEP_LOG_LEVEL", "nope", 1);
  Status bad = SetupLogging();
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("LCSWEEP_LOG_LEVEL"), std::string::npos);
  unsetenv("LCSWEEP_LOG_LEVEL");
}

TEST(LoggingTest, KeyValueFormat) {
  EXPECT_EQ(Kv("job", "job-1"), "job=job-1");
  EXPECT_EQ(Kv("msg", "two words"), "msg=\"two words\"");
  EXPECT_EQ(Kv("q", "a\"b"), "q=\"a\\\"b\"");
  EXPECT_EQ(Kv("empty", ""), "empty=\"\"");
  EXPECT_EQ(Kv("n", 42), "n=42");
}

TEST(LoggingTest, WritesKeyValueLinesToStderr) {
  ASSERT_TRUE(SetupLogging("info").ok());
  testing::internal::CaptureStderr();
  GetLogger("coordinator")->info("{} {}", Kv("event", "lease"), Kv("job", "job-1"));
  std::string out = testing::internal::GetCapturedStderr();
  EXPECT_NE(out.find("level=info logger=coordinator event=lease job=job-1"), std::string::npos) << out;
  EXPECT_EQ(out.rfind("ts=", 0), 0u) << out;
}

}  // namespace
}  // namespace lcsweep
