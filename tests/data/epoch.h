// Test helper: every batch of one epoch of a BatchLoader, failing the test on
// a data error.
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "worker/data/batch_loader.h"

namespace lcsweep::data::testing {

inline std::vector<Batch> Epoch(BatchLoader& loader, int64_t epoch, int64_t first = 0) {
  loader.StartEpoch(epoch, first);
  std::vector<Batch> out;
  while (true) {
    auto b = loader.Next();
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    if (!b.ok() || !b->has_value()) break;
    out.push_back(**b);
  }
  return out;
}

}  // namespace lcsweep::data::testing
