// Keeps every reply under a default client's receive limit (common/limits.h:
// kReplyBudgetBytes under kDefaultClientMaxReceiveBytes).
//
// List handlers add items while a PageBudget admits them and, when it stops
// one, end the page there and set next_page_token to the last item's id.
// The first item of a page is always admitted, so a page is never empty
// while items remain; the Fit* functions first shrink an item that alone
// would pass the budget (possible only for data stored before the input
// limits existed) by emptying its largest fields and naming them in
// omitted_fields, so one such item cannot make a reply fail.
//
// Thread-safety: PageBudget is used by one handler thread; functions are pure.
#pragma once

#include <cstddef>

#include <google/protobuf/message_lite.h>

#include "common/limits.h"
#include "lcsweep/v1/coordinator.pb.h"

namespace lcsweep::rpc {

// Bytes `m` adds as an element of a repeated field (tag, length, body).
size_t EncodedItemSize(const google::protobuf::MessageLite& m);

class PageBudget {
 public:
  explicit PageBudget(size_t budget = kReplyBudgetBytes) : left_(budget) {}
  // True when an item of `item_bytes` still fits (always for the first);
  // counts it. False once one did not fit; later calls stay false.
  bool Admit(size_t item_bytes);
  bool cut() const { return cut_; }

 private:
  size_t left_;
  bool first_ = true;
  bool cut_ = false;
};

// Shrink one item to at most `budget` encoded bytes (see above).
void FitJob(v1::Job* job, size_t budget = kReplyBudgetBytes);
void FitSweep(v1::Sweep* sweep, size_t budget = kReplyBudgetBytes);
void FitGroup(v1::ResultGroup* group, size_t budget = kReplyBudgetBytes);

}  // namespace lcsweep::rpc
