// Statistics over seeds: mean, sample standard deviation and n of a figure,
// pooling of such summaries, and the standard error the plots draw.
// "No std" has one convention everywhere: std is 0 when n < 2 (a single seed
// has no spread to report); published numbers without a std use nullopt
// (analysis/published.h) because there 0 would be a claim.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace lcsweep::analysis {

struct Stats {
  double mean = 0;
  double std = 0;   // sample standard deviation (n - 1 denominator); 0 when n < 2
  int64_t n = 0;    // values (succeeded jobs that have the figure)
};

// mean, sample std and n of `values` (n == 0: all zero).
Stats ComputeStats(const std::vector<double>& values);

// The exact mean and sample std of the union of the samples that `parts`
// summarise (as if ComputeStats ran over all their values at once).
Stats PoolStats(const std::vector<Stats>& parts);

// std / sqrt(n); 0 when n < 2.
double StdError(const Stats& s);

// {"mean", "std", "stderr", "n"}.
nlohmann::json StatsJson(const Stats& s);

}  // namespace lcsweep::analysis
