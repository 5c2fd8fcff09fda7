// The pre-parse checks of client text (common/text_checks.h), against
// independent expectations: hand-counted depths and UTF-8 sequences from the
// Unicode standard's table of well-formed byte sequences.
#include "common/text_checks.h"

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/limits.h"

namespace lcsweep {
namespace {

std::string Deep(size_t n) { return std::string(n, '[') + std::string(n, ']'); }

TEST(TextChecksTest, DepthCountsBracketsOutsideStringsOnly) {
  EXPECT_EQ(ScanJsonText("1", 10).max_depth, 0u);
  EXPECT_EQ(ScanJsonText(R"({"a": [1, {"b": 2}]})", 10).max_depth, 3u);
  // Brackets, escaped quotes and backslashes inside strings do not count.
  EXPECT_EQ(ScanJsonText(R"({"a": "[[[{{{", "b": "\"[[", "c": "\\"})", 10).max_depth, 1u);
  EXPECT_EQ(ScanJsonText(R"(["\\\"[[[["])", 10).max_depth, 1u);
  // Agrees with the parser on a document it accepts.
  std::string doc = R"({"x": [[{"y": [1]}]], "z": {"w": "]]]"}})";
  ASSERT_FALSE(nlohmann::json::parse(doc, nullptr, false).is_discarded());
  EXPECT_EQ(ScanJsonText(doc, 100).max_depth, 5u);
}

TEST(TextChecksTest, StopsAtTheLimitAndSurvivesGarbage) {
  JsonTextShape s = ScanJsonText(Deep(70000), 32);
  EXPECT_TRUE(s.depth_exceeded);
  EXPECT_EQ(s.max_depth, 33u);
  EXPECT_FALSE(ScanJsonText(Deep(32), 32).depth_exceeded);
  // Unbalanced text: no failure, no underflow.
  EXPECT_FALSE(ScanJsonText("]]]]}}}{", 32).depth_exceeded);
  EXPECT_EQ(ScanJsonText("]]]]}}}{", 32).max_depth, 1u);
}

TEST(TextChecksTest, CheckJsonTextNamesFieldAndLimit) {
  Status st = CheckResultJsonText("{\"a\": " + Deep(70000) + "}");
  ASSERT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "result_json: nested 70001 levels deep; the limit is 32 (kMaxResultDepth)");
  st = CheckResultJsonText("{\"a\": \"" + std::string(kMaxResultBytes, 'x') + "\"}");
  ASSERT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("result_json: "), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("kMaxResultBytes"), std::string::npos) << st.message();
  EXPECT_TRUE(CheckResultJsonText("{\"a\": " + Deep(31) + "}").ok());
  EXPECT_FALSE(CheckResultJsonText("{\"a\": " + Deep(32) + "}").ok());
  st = CheckSpecJsonText(Deep(65));
  EXPECT_NE(st.message().find("spec_json: nested 65 levels deep; the limit is 64 (kMaxSpecDepth)"),
            std::string::npos)
      << st.message();
}

TEST(TextChecksTest, Utf8WellFormedSequences) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("\xC3\xA9"));              // U+00E9
  EXPECT_TRUE(IsValidUtf8("\xE2\x82\xAC"));          // U+20AC
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x98\x80"));      // U+1F600
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));      // U+10FFFF
  EXPECT_EQ(FirstInvalidUtf8("ab\xFF"), 2u);          // never valid
  EXPECT_EQ(FirstInvalidUtf8("a\xC3"), 1u);           // truncated
  EXPECT_EQ(FirstInvalidUtf8("\xC0\xAF"), 0u);        // overlong '/'
  EXPECT_EQ(FirstInvalidUtf8("\xE0\x80\xAF"), 0u);    // overlong
  EXPECT_EQ(FirstInvalidUtf8("\xED\xA0\x80"), 0u);    // surrogate U+D800
  EXPECT_EQ(FirstInvalidUtf8("\xF4\x90\x80\x80"), 0u);  // above U+10FFFF
  EXPECT_EQ(FirstInvalidUtf8("x\x80"), 1u);           // lone continuation
  // Agrees with nlohmann's own UTF-8 check on what it accepts and refuses.
  for (const std::string& s : {std::string("\xC3\xA9"), std::string("\xED\xA0\x80"),
                              std::string("a\xC3"), std::string("\xF0\x9F\x98\x80")}) {
    bool nl_ok = true;
    try {
      (void)nlohmann::json(s).dump();
    } catch (const nlohmann::json::exception&) {
      nl_ok = false;
    }
    EXPECT_EQ(IsValidUtf8(s), nl_ok) << nlohmann::json(s).dump(-1, ' ', true,
                                                                nlohmann::json::error_handler_t::replace);
  }
}

TEST(TextChecksTest, CheckTextNamesFieldOffsetAndLimit) {
  Status st = CheckText("reason", "ok\xFF", {10, "kMaxReasonBytes"});
  EXPECT_EQ(st.message(), "reason: not valid UTF-8 (byte 2 of 3); text fields must be UTF-8");
  st = CheckText("reason", std::string(11, 'a'), {10, "kMaxReasonBytes"});
  EXPECT_EQ(st.message(), "reason: 11 bytes; the limit is 10 bytes (kMaxReasonBytes)");
  EXPECT_TRUE(CheckText("reason", "\xE2\x82\xAC", {3, "kMaxReasonBytes"}).ok());
}

TEST(TextChecksTest, CutUtf8KeepsWholeSequences) {
  EXPECT_EQ(CutUtf8("abc", 5), "abc");
  EXPECT_EQ(CutUtf8("a\xE2\x82\xAC", 3), "a");  // would split the euro sign
  EXPECT_EQ(CutUtf8("a\xE2\x82\xAC", 4), "a\xE2\x82\xAC");
}

}  // namespace
}  // namespace lcsweep
