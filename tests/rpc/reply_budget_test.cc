// Unit tests of the reply-size and error-trailer bounds (server/rpc/
// reply_budget.h, error_details.h): sizes measured independently by
// serializing the messages.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/limits.h"
#include "proto/convert.h"
#include "server/rpc/error_details.h"
#include "server/rpc/reply_budget.h"

namespace lcsweep::rpc {
namespace {

TEST(ReplyBudgetTest, AdmitsTheFirstItemAlwaysThenCutsForGood) {
  PageBudget b(100);
  EXPECT_TRUE(b.Admit(150));  // one item per page at least
  EXPECT_FALSE(b.Admit(1));
  EXPECT_TRUE(b.cut());
  EXPECT_FALSE(b.Admit(0));
  PageBudget c(100);
  EXPECT_TRUE(c.Admit(60));
  EXPECT_TRUE(c.Admit(40));
  EXPECT_FALSE(c.cut());
  EXPECT_FALSE(c.Admit(1));
}

TEST(ReplyBudgetTest, EncodedItemSizeBoundsTheRepeatedFieldGrowth) {
  v1::ListJobsResponse r;
  v1::Job j;
  j.set_id(7);
  j.set_result_json(std::string(300000, 'x'));
  const size_t before = r.ByteSizeLong();
  *r.add_jobs() = j;
  EXPECT_LE(r.ByteSizeLong() - before, EncodedItemSize(j));
}

TEST(ReplyBudgetTest, FitJobDropsTheLargestFieldsAndNamesThem) {
  v1::Job j;
  j.set_id(1);
  j.set_result_json(std::string(5 << 20, 'r'));  // stored before the limits
  j.set_config_json("{}");
  FitJob(&j);
  EXPECT_LE(j.ByteSizeLong(), kReplyBudgetBytes);
  EXPECT_TRUE(j.result_json().empty());
  EXPECT_EQ(j.config_json(), "{}");
  ASSERT_EQ(j.omitted_fields_size(), 1);
  EXPECT_EQ(j.omitted_fields(0), "result_json");
  v1::Job small;
  small.set_result_json("{\"a\": 1}");
  FitJob(&small);
  EXPECT_EQ(small.omitted_fields_size(), 0);
  EXPECT_EQ(small.result_json(), "{\"a\": 1}");
}

TEST(ReplyBudgetTest, FitGroupKeepsTheFirstFiguresByName) {
  v1::ResultGroup g;
  for (int i = 0; i < 1000; ++i) {
    (*g.mutable_figures())["f" + std::string(1000, 'a') + std::to_string(10000 + i)].set_mean(i);
  }
  FitGroup(&g, 100000);
  EXPECT_LE(g.ByteSizeLong(), 100000u);
  EXPECT_GT(g.figures_size(), 0);
  EXPECT_EQ(g.figures_size() + g.figures_omitted(), 1000);
  EXPECT_EQ(g.figures().count("f" + std::string(1000, 'a') + "10000"), 1u);
}

TEST(ErrorDetailsTest, BoundedWhateverTheErrors) {
  std::vector<FieldError> errors;
  // Long, non-ASCII texts: the worst case for both encodings.
  for (int i = 0; i < 2000; ++i) {
    std::string s;
    for (int k = 0; k < 400; ++k) s += "\xC3\xA9";
    errors.push_back({"list[" + std::to_string(i) + "]" + s, s, s, s});
  }
  grpc::Status st = FieldErrorsStatus("invalid sweep spec:", errors);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_LE(st.error_details().size(), kMaxErrorDetailsBytes);
  EXPECT_LE(GrpcMessageWireSize(st.error_message()), kMaxStatusMessageBytes);
  v1::ErrorDetails d = ParseErrorDetails(st);
  EXPECT_GT(d.field_errors_size(), 0);
  EXPECT_EQ(d.field_errors_size() + d.omitted(), 2000);
  EXPECT_NE(st.error_message().find("(2000 in all)"), std::string::npos);
  // Few short errors: all of them, nothing omitted.
  grpc::Status few = FieldErrorsStatus("bad:", {{"a", "1", "2", ""}, {"b", "3", "4", ""}});
  v1::ErrorDetails fd = ParseErrorDetails(few);
  EXPECT_EQ(fd.field_errors_size(), 2);
  EXPECT_EQ(fd.omitted(), 0);
  EXPECT_EQ(few.error_message(), "bad:\na: found 1; expected 2\nb: found 3; expected 4");
}

TEST(ErrorDetailsTest, AnyStatusMessageIsCutToTheTrailerBudget) {
  std::string huge;
  for (int i = 0; i < 10000; ++i) huge += "\xE2\x82\xAC";  // 3 bytes, 9 once percent-encoded
  grpc::Status st = ToGrpcStatus(InvalidArgumentError(huge));
  EXPECT_LE(GrpcMessageWireSize(st.error_message()), kMaxStatusMessageBytes);
  EXPECT_EQ(st.error_message().substr(st.error_message().size() - 9), "... [cut]");
  std::string kept = st.error_message().substr(0, st.error_message().size() - 9);
  EXPECT_EQ(kept.size() % 3, 0u);  // whole euro signs only
  EXPECT_EQ(ToGrpcStatus(InvalidArgumentError("short")).error_message(), "short");
}

}  // namespace
}  // namespace lcsweep::rpc
