// Significance between arms (see significance.h).
#include "analysis/significance.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "analysis/student_t.h"
#include "common/splitmix64.h"

namespace lcsweep::analysis {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<double> Values(const std::vector<SeedValue>& v) {
  std::vector<double> out;
  for (const auto& s : v) out.push_back(s.value);
  return out;
}

// In order of seed, then value: the bootstrap's index order does not depend
// on the order the jobs were listed in.
std::vector<SeedValue> BySeed(std::vector<SeedValue> v) {
  std::sort(v.begin(), v.end(), [](const SeedValue& x, const SeedValue& y) {
    return x.seed != y.seed ? x.seed < y.seed : x.value < y.value;
  });
  return v;
}

// The paired differences a - b by seed, when both arms ran the same set of
// seeds, each once; nullopt otherwise.
std::optional<std::vector<double>> PairedDifferences(const std::vector<SeedValue>& a,
                                                     const std::vector<SeedValue>& b) {
  if (a.size() != b.size() || a.size() < 2) return std::nullopt;
  std::map<int64_t, double> bs;
  for (const auto& s : b) {
    if (!bs.emplace(s.seed, s.value).second) return std::nullopt;
  }
  std::map<int64_t, double> as;
  for (const auto& s : a) {
    auto it = bs.find(s.seed);
    if (it == bs.end() || !as.emplace(s.seed, s.value).second) return std::nullopt;
  }
  std::vector<double> d;
  for (const auto& [seed, v] : as) d.push_back(v - bs[seed]);
  return d;
}

// Fills t, p, CI and significance from diff, se and df.
void Finish(Comparison& c) {
  if (!(c.se > 0) || !std::isfinite(c.se) || !(c.df > 0)) {
    c.test = "none";
    c.ci_low = c.ci_high = c.p_value = c.t = kNaN;
    if (c.note.empty()) c.note = "the values have no spread (t is undefined)";
    return;
  }
  c.t = c.diff / c.se;
  c.p_value = StudentTTwoSided(c.t, c.df);
  const double half = StudentTQuantile(1 - kSignificanceAlpha / 2, c.df) * c.se;
  c.ci_low = c.diff - half;
  c.ci_high = c.diff + half;
  c.significant = c.p_value < kSignificanceAlpha;
}

Comparison NoTest(const std::string& note) {
  Comparison c;
  c.ci_low = c.ci_high = c.p_value = c.t = kNaN;
  c.note = note;
  return c;
}

double WelchDf(double va_n, double vb_n, double n_a, double n_b) {
  const double s = va_n + vb_n;
  return s * s / (va_n * va_n / (n_a - 1) + vb_n * vb_n / (n_b - 1));
}

// numpy.percentile's default ("linear"): between order statistics
// floor(h) and ceil(h), h = q * (n - 1).
double Percentile(const std::vector<double>& sorted, double q) {
  const double h = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(h));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

double MeanOfDraws(SplitMix64& rng, const std::vector<double>& v) {
  double sum = 0;
  for (size_t i = 0; i < v.size(); ++i) sum += v[rng.Below(v.size())];
  return sum / static_cast<double>(v.size());
}

// The smallest n in [2, kMaxSeedsNeeded] with n >= required(n); required
// is non-increasing in n (t quantiles shrink as df grows).
template <typename Required>
std::optional<int64_t> SmallestN(Required required) {
  auto ok = [&](int64_t n) { return static_cast<double>(n) >= required(n); };
  if (!ok(kMaxSeedsNeeded)) return std::nullopt;
  int64_t lo = 1, hi = kMaxSeedsNeeded;  // ok(hi); lo is below the range
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (ok(mid)) hi = mid; else lo = mid;
  }
  return hi;
}

double TFactor(double df) {
  return StudentTQuantile(1 - kSignificanceAlpha / 2, df) + StudentTQuantile(kSeedsNeededPower, df);
}

}  // namespace

std::optional<int64_t> SeedsNeededPaired(double diff, double sd_diff) {
  if (!(std::fabs(diff) > 0) || !(sd_diff > 0) || !std::isfinite(sd_diff)) return std::nullopt;
  const double ratio = sd_diff / std::fabs(diff);
  return SmallestN([&](int64_t n) {
    const double f = TFactor(static_cast<double>(n - 1)) * ratio;
    return f * f;
  });
}

std::optional<int64_t> SeedsNeededWelch(double diff, double var_a, double var_b) {
  if (!(std::fabs(diff) > 0) || !std::isfinite(var_a) || !std::isfinite(var_b)) return std::nullopt;
  const double var = var_a + var_b;
  if (!(var > 0)) return std::nullopt;
  return SmallestN([&](int64_t n) {
    const double nn = static_cast<double>(n);
    const double f = TFactor(WelchDf(var_a / nn, var_b / nn, nn, nn));
    return f * f * var / (diff * diff);
  });
}

Comparison WelchFromStats(const Stats& a, const Stats& b) {
  if (a.n < 2 || b.n < 2) {
    Comparison c = NoTest("an arm has fewer than 2 values");
    c.diff = a.mean - b.mean;
    c.n_a = a.n;
    c.n_b = b.n;
    c.few_seeds = true;
    return c;
  }
  Comparison c;
  c.test = "welch";
  c.n_a = a.n;
  c.n_b = b.n;
  c.few_seeds = a.n < 3 || b.n < 3;
  c.diff = a.mean - b.mean;
  const double va_n = a.std * a.std / static_cast<double>(a.n), vb_n = b.std * b.std / static_cast<double>(b.n);
  c.se = std::sqrt(va_n + vb_n);
  c.df = WelchDf(va_n, vb_n, static_cast<double>(a.n), static_cast<double>(b.n));
  Finish(c);
  c.seeds_needed = SeedsNeededWelch(c.diff, a.std * a.std, b.std * b.std);
  return c;
}

Comparison CompareArms(const std::vector<SeedValue>& a_in, const std::vector<SeedValue>& b_in,
                       const CompareOptions& options) {
  const std::vector<SeedValue> a = BySeed(a_in), b = BySeed(b_in);
  Comparison c;
  const auto d = PairedDifferences(a, b);
  if (d) {
    const Stats sd = ComputeStats(*d);
    c.test = "paired";
    c.n_a = c.n_b = sd.n;
    c.few_seeds = sd.n < 3;
    c.diff = sd.mean;
    c.se = sd.std / std::sqrt(static_cast<double>(sd.n));
    c.df = static_cast<double>(sd.n - 1);
    Finish(c);
    c.seeds_needed = SeedsNeededPaired(c.diff, sd.std);
  } else {
    c = WelchFromStats(ComputeStats(Values(a)), ComputeStats(Values(b)));
  }
  if (options.bootstrap && !a.empty() && !b.empty() && options.bootstrap_samples > 1) {
    SplitMix64 rng(options.bootstrap_seed);
    const std::vector<double> va = Values(a), vb = Values(b);
    std::vector<double> diffs;
    diffs.reserve(static_cast<size_t>(options.bootstrap_samples));
    for (int64_t i = 0; i < options.bootstrap_samples; ++i) {
      if (d) {
        diffs.push_back(MeanOfDraws(rng, *d));
      } else {
        const double ma = MeanOfDraws(rng, va);
        diffs.push_back(ma - MeanOfDraws(rng, vb));
      }
    }
    std::sort(diffs.begin(), diffs.end());
    c.boot_low = Percentile(diffs, kSignificanceAlpha / 2);
    c.boot_high = Percentile(diffs, 1 - kSignificanceAlpha / 2);
  }
  return c;
}

Comparison CompareWithPublished(const std::vector<SeedValue>& a, double mean, std::optional<double> std,
                                int64_t seeds) {
  const Stats sa = ComputeStats(Values(a));
  if (std) return WelchFromStats(sa, Stats{mean, *std, seeds});
  if (sa.n < 2) {
    Comparison c = NoTest("the arm has fewer than 2 values");
    c.diff = sa.mean - mean;
    c.n_a = sa.n;
    c.few_seeds = true;
    return c;
  }
  Comparison c;
  c.test = "one-sample";
  c.n_a = sa.n;
  c.few_seeds = sa.n < 3;
  c.diff = sa.mean - mean;
  c.se = sa.std / std::sqrt(static_cast<double>(sa.n));
  c.df = static_cast<double>(sa.n - 1);
  Finish(c);
  // Against a constant, only arm a's seeds count: the paired rule's form.
  c.seeds_needed = SeedsNeededPaired(c.diff, sa.std);
  return c;
}

nlohmann::json ComparisonJson(const Comparison& c) {
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); };
  nlohmann::json j = {{"test", c.test},
                      {"diff", num(c.diff)},
                      {"se", c.test == "none" ? nlohmann::json() : num(c.se)},
                      {"df", c.test == "none" ? nlohmann::json() : num(c.df)},
                      {"t", num(c.t)},
                      {"ci", c.test == "none" ? nlohmann::json() : nlohmann::json{num(c.ci_low), num(c.ci_high)}},
                      {"p", num(c.p_value)},
                      {"n_a", c.n_a},
                      {"n_b", c.n_b},
                      {"few_seeds", c.few_seeds},
                      {"significant", c.significant},
                      {"seeds_needed", c.seeds_needed ? nlohmann::json(*c.seeds_needed) : nlohmann::json()},
                      {"bootstrap_ci", c.boot_low ? nlohmann::json{*c.boot_low, *c.boot_high} : nlohmann::json()},
                      {"note", c.note}};
  return j;
}

}  // namespace lcsweep::analysis
