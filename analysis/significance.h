// Significance between two arms of a sweep (two cells of a results table),
// or between an arm and a published number: the difference of means with a
// 95% confidence interval and a two-sided p-value, optionally a percentile
// bootstrap interval, and how many seeds would make the observed difference
// significant.
//
// Which test:
//   paired    both arms ran the same set of seeds (matched by seed value,
//             each seed once per arm, n >= 2): the seed fixes data order,
//             augmentation and initialisation, so the per-seed differences
//             d_i = a_i - b_i are tested (scipy.stats.ttest_rel);
//             df = n - 1, se = sd(d) / sqrt(n).
//   welch     otherwise, n >= 2 in each arm (scipy.stats.ttest_ind with
//             equal_var=False); se^2 = s_a^2/n_a + s_b^2/n_b and the
//             Welch-Satterthwaite df = se^4 / ((s_a^2/n_a)^2/(n_a-1) + (s_b^2/n_b)^2/(n_b-1)).
//   one-sample  against a published mean without a std: the published
//             value is a constant (scipy.stats.ttest_1samp); df = n_a - 1.
//   Against a published mean with a std, Welch from the summary statistics
//   with the published seed count (scipy.stats.ttest_ind_from_stats).
//   CI = diff +- t_{0.975, df} * se. No test (test "none", p NaN) when an arm
//   has fewer than 2 values or se is 0 (identical values: t is undefined).
//   few_seeds is set when an arm has fewer than 3 values: a test over 2
//   seeds has 1 degree of freedom and its p-value is close to meaningless.
//
// Seeds needed (per arm): the smallest n >= 2 with
//     n >= ((t_{1-alpha/2, df(n)} + t_{power, df(n)}) * sigma / |diff|)^2
// for alpha = 0.05 and power = 0.8, where sigma is the observed sd of the
// paired differences (paired, df(n) = n - 1), or sigma^2 = s_a^2 + s_b^2
// (two arms of n seeds each, df(n) the Welch-Satterthwaite df for n per
// arm with the observed variances). This is the t-based sample-size
// iteration (Snedecor & Cochran), not the normal approximation
// (z_{0.975} + z_{0.8} = 2.80): with few seeds the t quantiles are much
// larger, and the normal approximation understates n. The condition is
// monotone in n, so it is solved by bisection over n in [2, kMaxSeedsNeeded];
// nullopt when |diff| or sigma is 0, sigma is unknown (an arm with < 2
// values) or the answer exceeds the cap.
//
// Bootstrap (on request): the 2.5% and 97.5% percentiles (numpy's default
// linear interpolation between order statistics) of the difference of means
// over `bootstrap_samples` resamples; paired arms resample seed pairs, other
// arms resample each arm on its own. Indices are drawn with SplitMix64
// (common/splitmix64.h) seeded by `bootstrap_seed`: Below(n) per index, arm
// a's indices before arm b's in each resample. Reproducible everywhere.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/stats.h"

namespace lcsweep::analysis {

inline constexpr double kSignificanceAlpha = 0.05;
inline constexpr double kSeedsNeededPower = 0.8;
inline constexpr int64_t kMaxSeedsNeeded = 100000;

// One job's figure and its seed.
struct SeedValue {
  int64_t seed = 0;
  double value = 0;
};

struct CompareOptions {
  bool bootstrap = false;
  int64_t bootstrap_samples = 10000;
  uint64_t bootstrap_seed = 0;
};

struct Comparison {
  std::string test = "none";  // "paired" | "welch" | "one-sample" | "none"
  double diff = 0;            // mean(a) - mean(b) (b: the reference)
  double se = 0;              // standard error of diff
  double df = 0;
  double t = 0;
  double ci_low = 0, ci_high = 0;  // 95%; NaN when there is no test
  double p_value = 0;              // two-sided; NaN when there is no test
  int64_t n_a = 0, n_b = 0;        // values per arm (pairs: both n_a)
  bool few_seeds = false;          // an arm has fewer than 3 values
  bool significant = false;        // p < alpha
  std::optional<int64_t> seeds_needed;  // per arm, at alpha 0.05 and power 0.8
  std::optional<double> boot_low, boot_high;
  std::string note;                // why there is no test, or ""
};

// Arm a against the reference arm b.
Comparison CompareArms(const std::vector<SeedValue>& a, const std::vector<SeedValue>& b,
                       const CompareOptions& options = {});

// Arm a against a published mean (with its std over `seeds` seeds when
// given; without one, a one-sample test against the constant). No bootstrap.
Comparison CompareWithPublished(const std::vector<SeedValue>& a, double mean, std::optional<double> std,
                                int64_t seeds);

// Welch's test from summary statistics (the published comparison's core).
Comparison WelchFromStats(const Stats& a, const Stats& b);

// The seeds-needed rule of the header for an observed difference, the sd
// sigma described there and a df function; exposed for the tests.
std::optional<int64_t> SeedsNeededPaired(double diff, double sd_diff);
std::optional<int64_t> SeedsNeededWelch(double diff, double var_a, double var_b);

// {"test", "diff", "se", "df", "t", "ci": [lo, hi], "p", "n_a", "n_b",
//  "few_seeds", "significant", "seeds_needed", "bootstrap_ci", "note"};
// NaN and missing values are null.
nlohmann::json ComparisonJson(const Comparison& c);

}  // namespace lcsweep::analysis
