// Cell references ("lc_rate=8,spatial=frozen") as compare --ref, results
// --vs and the dashboard's vs parameter read them.
#include "analysis/cell_ref.h"

#include <gtest/gtest.h>

namespace lcsweep::analysis {
namespace {

const std::vector<std::string> kAxes = {"model.conv.lc_rate", "model.conv.spatial", "train.lr", "optim.lr"};

GroupFigure Group(int64_t rate, const char* spatial) {
  GroupFigure g;
  g.axes = {{"model.conv.lc_rate", rate}, {"model.conv.spatial", spatial}};
  return g;
}

TEST(CellRefTest, ParsesPairsAndRefusesMalformedOnes) {
  auto r = ParseCellRef(" lc_rate=8 , variant=LC frozen ");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->pairs.size(), 2u);
  EXPECT_EQ(r->pairs[1].first, "variant");
  EXPECT_EQ(r->pairs[1].second, "LC frozen");
  EXPECT_FALSE(ParseCellRef("").ok());
  EXPECT_FALSE(ParseCellRef("lc_rate").ok());
  EXPECT_FALSE(ParseCellRef("=8").ok());
}

TEST(CellRefTest, ResolvesShortNamesOnlyWhenUnique) {
  EXPECT_EQ(ResolveAxis("lc_rate", kAxes), "model.conv.lc_rate");
  EXPECT_EQ(ResolveAxis("model.conv.spatial", kAxes), "model.conv.spatial");
  EXPECT_EQ(ResolveAxis("lr", kAxes), "");  // train.lr or optim.lr
  EXPECT_EQ(ResolveAxis("variant", kAxes), "variant");
  EXPECT_FALSE(CheckCellRef(*ParseCellRef("lr=0.1"), kAxes).ok());
  EXPECT_TRUE(CheckCellRef(*ParseCellRef("lc_rate=8"), kAxes).ok());
}

TEST(CellRefTest, MatchesByValueTextAndDerivedVariant) {
  const auto ref = *ParseCellRef("lc_rate=8,variant=LC frozen");
  EXPECT_TRUE(MatchesCellRef(Group(8, "frozen"), ref, kAxes));
  EXPECT_FALSE(MatchesCellRef(Group(8, "learned"), ref, kAxes));
  EXPECT_FALSE(MatchesCellRef(Group(16, "frozen"), ref, kAxes));
}

}  // namespace
}  // namespace lcsweep::analysis
