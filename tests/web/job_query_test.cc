// The job table's query language alone: parsing, column resolution, term
// evaluation and sort order, on hand-made values.
#include "server/http/job_query.h"

#include <algorithm>

#include <gtest/gtest.h>

namespace lcsweep {
namespace {

const std::vector<std::string> kColumns = {"id", "state", "model.conv.lc_rate", "model.conv.spatial", "data.name"};

KeyResolver Resolver() {
  return [](const std::string& key) { return ResolveColumn(key, kColumns); };
}

TEST(JobQueryTest, ParsesKeyedAndFreeTextTermsResolvingSuffixes) {
  QueryError e;
  auto terms = ParseFilter("lc_rate>=8 spatial==frozen Fashion", Resolver(), "", &e);
  ASSERT_TRUE(terms);
  ASSERT_EQ(terms->size(), 3u);
  EXPECT_EQ((*terms)[0].key, "model.conv.lc_rate");
  EXPECT_EQ((*terms)[0].op, ">=");
  EXPECT_EQ((*terms)[0].value, "8");
  EXPECT_EQ((*terms)[1].op, "=");
  EXPECT_EQ((*terms)[2].key, "");
  EXPECT_EQ((*terms)[2].value, "fashion");
}

TEST(JobQueryTest, ErrorsSayWhatAndHow) {
  QueryError e;
  EXPECT_FALSE(ParseFilter("lc_rate=>8", Resolver(), "", &e));
  EXPECT_EQ(e.error, "bad operator '=>' in filter term 'lc_rate=>8'");
  EXPECT_FALSE(ParseFilter("colour=red", Resolver(), " model.conv.lc_rate", &e));
  EXPECT_EQ(e.error, "unknown filter key 'colour'");
  EXPECT_NE(e.hint.find("model.conv.lc_rate"), std::string::npos);
}

TEST(JobQueryTest, TermsCompareNumbersNumericallyAndTextOtherwise) {
  auto term = [](std::string op, std::string value) { return FilterTerm{"k", std::move(op), std::move(value)}; };
  EXPECT_TRUE(TermHolds(term(">=", "8"), 16));   // as text "16" < "8"
  EXPECT_FALSE(TermHolds(term("<", "8"), 16));
  EXPECT_TRUE(TermHolds(term("=", "8"), 8.0));
  EXPECT_TRUE(TermHolds(term("!=", "frozen"), "learned"));
  EXPECT_TRUE(TermHolds(term("=", "frozen"), "frozen"));
  EXPECT_FALSE(TermHolds(term("=", "8"), nullptr));
  EXPECT_TRUE(TextHolds(FilterTerm{"", "", "lc fro"}, "12 succeeded LC Frozen 8"));
}

TEST(JobQueryTest, SortPutsNullsLastInEitherOrderAndBreaksTiesById) {
  std::vector<std::pair<nlohmann::json, int64_t>> v = {{nullptr, 1}, {2, 2}, {10, 3}, {2, 4}, {"a", 5}};
  for (bool desc : {false, true}) {
    auto s = v;
    std::stable_sort(s.begin(), s.end(),
                     [&](const auto& a, const auto& b) { return SortBefore(a.first, a.second, b.first, b.second, desc); });
    std::vector<int64_t> ids;
    for (const auto& [val, id] : s) ids.push_back(id);
    EXPECT_EQ(ids, desc ? (std::vector<int64_t>{5, 3, 2, 4, 1}) : (std::vector<int64_t>{2, 4, 3, 5, 1})) << desc;
  }
}

}  // namespace
}  // namespace lcsweep
