#include "common/field_errors.h"

#include <gtest/gtest.h>

namespace lcsweep {
namespace {

TEST(FieldErrorsTest, PathNotation) {
  EXPECT_EQ(JoinPath("", "model"), "model");
  EXPECT_EQ(JoinPath(kDocumentPath, "model"), "model");
  EXPECT_EQ(JoinPath("model", "conv"), "model.conv");
  EXPECT_EQ(JoinPath("grid", "model.conv.lc_rate"), "grid[\"model.conv.lc_rate\"]");
  EXPECT_EQ(IndexPath(QuotedKeyPath("grid", "model.conv.lc_rate"), 3),
            "grid[\"model.conv.lc_rate\"][3]");
  EXPECT_EQ(IndexPath("eval.severities", 0), "eval.severities[0]");
  EXPECT_EQ(JoinPath("base", "has space"), "base[\"has space\"]");
}

TEST(FieldErrorsTest, StatusListsOneErrorPerLine) {
  FieldErrors errs;
  EXPECT_TRUE(errs.ToStatus().ok());
  errs.Add("model.conv.lc_rate", "-2", "an integer >= 1");
  errs.Add("model.conv.intermdiate", "an unknown key", "one of ...", "did you mean \"intermediate\"?");
  Status s = errs.ToStatus("invalid sweep");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "invalid sweep:\n"
            "model.conv.lc_rate: found -2; expected an integer >= 1\n"
            "model.conv.intermdiate: found an unknown key; expected one of ...; did you mean "
            "\"intermediate\"?");
  ASSERT_EQ(errs.errors().size(), 2u);
  EXPECT_EQ(errs.errors()[1].path, "model.conv.intermdiate");
}

TEST(FieldErrorsTest, AppendPrefixes) {
  FieldErrors inner, outer;
  inner.Add("model.depth", "7", "6n+2");
  inner.Add(kDocumentPath, "5", "an object");
  outer.Append(inner, "base");
  EXPECT_EQ(outer.errors()[0].path, "base.model.depth");
  EXPECT_EQ(outer.errors()[1].path, "base");
}

TEST(FieldErrorsTest, DescribeJsonDoesNotRecurse) {
  EXPECT_EQ(DescribeJson(nlohmann::json(-2)), "-2");
  EXPECT_EQ(DescribeJson(nlohmann::json(0.5)), "0.5");
  EXPECT_EQ(DescribeJson(nlohmann::json("relu6")), "\"relu6\"");
  EXPECT_EQ(DescribeJson(nlohmann::json::array({1, 2, 3})), "an array of 3 values");
  EXPECT_EQ(DescribeJson(nlohmann::json::object()), "an empty object");
  EXPECT_EQ(DescribeJson(nlohmann::json(std::string(200, 'x'))).size(), 65u);
}

TEST(FieldErrorsTest, ClosestName) {
  std::vector<std::string> c = {"mode", "lc_rate", "spatial", "intermediate", "execution"};
  EXPECT_EQ(ClosestName("intermdiate", c), "intermediate");
  EXPECT_EQ(ClosestName("lcrate", c), "lc_rate");
  EXPECT_EQ(ClosestName("zzzzzzz", c), "");
}

}  // namespace
}  // namespace lcsweep
