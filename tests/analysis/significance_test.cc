// Student t and the significance between arms against scipy. Every
// constant was printed by tests/analysis/significance_reference.py with
// Debian's /usr/bin/python3 and python3-scipy 1.10.1; the comment above
// each names the scipy call (A, B, W1, W2 are the script's inputs, copied
// below).
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "analysis/significance.h"
#include "analysis/student_t.h"

namespace lcsweep::analysis {
namespace {

void ExpectRel(double got, double want, double rel = 1e-9) {
  EXPECT_NEAR(got, want, std::fabs(want) * rel) << "want " << want;
}

std::vector<SeedValue> Arm(const std::vector<double>& values, int64_t first_seed) {
  std::vector<SeedValue> out;
  for (size_t i = 0; i < values.size(); ++i) out.push_back({first_seed + static_cast<int64_t>(i), values[i]});
  return out;
}

const std::vector<double> kA = {0.912, 0.905, 0.918, 0.909};  // seeds 0..3
const std::vector<double> kB = {0.897, 0.901, 0.893, 0.899};  // seeds 0..3
const std::vector<double> kW1 = {0.71, 0.74, 0.69, 0.73, 0.75};  // seeds 0..4
const std::vector<double> kW2 = {0.70, 0.66, 0.72};              // seeds 10..12

TEST(StudentT, IncompleteBetaMatchesScipy) {
  ExpectRel(RegularizedIncompleteBeta(2.5, 0.5, 0.3), 0.01892712407194565);   // special.betainc(2.5, 0.5, 0.3)
  ExpectRel(RegularizedIncompleteBeta(0.5, 7.0, 0.9), 0.9999999780702158);    // special.betainc(0.5, 7.0, 0.9)
  ExpectRel(RegularizedIncompleteBeta(30.0, 0.5, 0.999), 0.807237306159537);  // special.betainc(30.0, 0.5, 0.999)
  ExpectRel(RegularizedIncompleteBeta(1.5, 2.25, 0.5), 0.6683803440695943);   // special.betainc(1.5, 2.25, 0.5)
  EXPECT_TRUE(std::isnan(RegularizedIncompleteBeta(1, 1, 1.5)));
}

TEST(StudentT, CdfAndTailMatchScipy) {
  ExpectRel(StudentTCdf(2.1, 4.5), 0.9520310915189568);     // stats.t.cdf(2.1, 4.5)
  ExpectRel(StudentTCdf(-3.7, 1.2), 0.06732430014370977);   // stats.t.cdf(-3.7, 1.2)
  ExpectRel(StudentTTwoSided(25, 10), 2.3993927600633416e-10);  // 2 * stats.t.sf(25, 10)
  EXPECT_EQ(StudentTCdf(0, 3), 0.5);
}

TEST(StudentT, QuantileMatchesScipy) {
  ExpectRel(StudentTQuantile(0.975, 3), 3.182446305284263);       // stats.t.ppf(0.975, 3)
  ExpectRel(StudentTQuantile(0.8, 7.3), 0.8936713571801147);      // stats.t.ppf(0.8, 7.3)
  ExpectRel(StudentTQuantile(0.999999, 2.5), 220.17342917570426, 1e-8);  // stats.t.ppf(0.999999, 2.5)
  ExpectRel(StudentTQuantile(0.01, 30), -2.4572615424005706);     // stats.t.ppf(0.01, 30)
  ExpectRel(StudentTQuantile(0.975, 1), 12.706204736432095);      // stats.t.ppf(0.975, 1)
  EXPECT_EQ(StudentTQuantile(0.5, 4), 0);
  EXPECT_TRUE(std::isinf(StudentTQuantile(1, 4)));
}

TEST(Significance, SameSeedsArePairedAndMatchTtestRel) {
  // The arms listed in other orders: pairing is by seed value, not position.
  std::vector<SeedValue> a = Arm(kA, 0), b = Arm(kB, 0);
  std::swap(a[0], a[3]);
  std::swap(b[1], b[2]);
  const Comparison c = CompareArms(a, b);
  EXPECT_EQ(c.test, "paired");
  ExpectRel(c.t, 3.037737332500265);          // ttest_rel(A, B).statistic
  ExpectRel(c.p_value, 0.05596731908219923);  // ttest_rel(A, B).pvalue
  ExpectRel(c.ci_low, -0.0006431007420171046, 1e-8);  // mean(d) - t.ppf(0.975, 3) * sd(d) / 2
  ExpectRel(c.ci_high, 0.02764310074201713);          // mean(d) + t.ppf(0.975, 3) * sd(d) / 2
  EXPECT_EQ(c.n_a, 4);
  EXPECT_FALSE(c.few_seeds);
  EXPECT_FALSE(c.significant);
  // needed_paired(mean(d), sd(d)): the loop over n with t.ppf in the script.
  ASSERT_TRUE(c.seeds_needed);
  EXPECT_EQ(*c.seeds_needed, 6);
}

TEST(Significance, DifferentSeedsUseWelchAndMatchTtestInd) {
  const Comparison c = CompareArms(Arm(kW1, 0), Arm(kW2, 10));
  EXPECT_EQ(c.test, "welch");
  ExpectRel(c.t, 1.483870967741934);           // ttest_ind(W1, W2, equal_var=False).statistic
  ExpectRel(c.p_value, 0.22124247889832568);   // ttest_ind(W1, W2, equal_var=False).pvalue
  ExpectRel(c.df, 3.524482383236292);          // the Welch-Satterthwaite df (script: "Welch df")
  ExpectRel(c.ci_low, -0.029899162841721186);  // diff - t.ppf(0.975, df) * se
  ExpectRel(c.ci_high, 0.09123249617505443);   // diff + t.ppf(0.975, df) * se
  ASSERT_TRUE(c.seeds_needed);
  EXPECT_EQ(*c.seeds_needed, 14);  // needed_welch(W1 - W2)
}

TEST(Significance, OneSharedSeedMissingFallsBackToWelch) {
  std::vector<SeedValue> b = Arm(kB, 0);
  b[3].seed = 9;  // the same count, another seed set: not paired
  EXPECT_EQ(CompareArms(Arm(kA, 0), b).test, "welch");
}

TEST(Significance, SeedsNeededMatchesScipyLoop) {
  EXPECT_EQ(SeedsNeededPaired(0.002, 0.01), 199);                // needed_paired(0.002, 0.01)
  EXPECT_EQ(SeedsNeededWelch(0.001, 0.004 * 0.004, 0.006 * 0.006), 410);  // needed_welch(0.001, 0.004**2, 0.006**2)
  EXPECT_FALSE(SeedsNeededPaired(0, 0.01));
  EXPECT_FALSE(SeedsNeededPaired(1e-9, 1.0));  // beyond kMaxSeedsNeeded
}

TEST(Significance, PublishedComparisonsMatchScipy) {
  // ttest_ind_from_stats(mean A, sd A, 4, 0.915, 0.003, 4, equal_var=False).pvalue
  const Comparison w = CompareWithPublished(Arm(kA, 0), 0.915, 0.003, 4);
  EXPECT_EQ(w.test, "welch");
  ExpectRel(w.p_value, 0.2603310278801789);
  // ttest_1samp(A, 0.915).pvalue
  const Comparison o = CompareWithPublished(Arm(kA, 0), 0.915, std::nullopt, 4);
  EXPECT_EQ(o.test, "one-sample");
  ExpectRel(o.p_value, 0.24025872202450235);
}

TEST(Significance, FewSeedsAreFlaggedAndSingleSeedsHaveNoTest) {
  const Comparison two = CompareArms(Arm({0.9, 0.91}, 0), Arm({0.8, 0.82}, 0));
  EXPECT_EQ(two.test, "paired");
  EXPECT_TRUE(two.few_seeds);
  const Comparison one = CompareArms(Arm({0.9}, 0), Arm({0.8, 0.82, 0.81}, 0));
  EXPECT_EQ(one.test, "none");
  EXPECT_TRUE(one.few_seeds);
  EXPECT_TRUE(std::isnan(one.p_value));
  EXPECT_NEAR(one.diff, 0.09, 1e-12);
  EXPECT_TRUE(ComparisonJson(one)["p"].is_null());
  // Identical differences: no spread, no t.
  EXPECT_EQ(CompareArms(Arm({1.5, 2.5, 3.5}, 0), Arm({1.0, 2.0, 3.0}, 0)).test, "none");
}

TEST(Significance, BootstrapMatchesThePythonResampling) {
  CompareOptions o;
  o.bootstrap = true;
  o.bootstrap_samples = 2000;
  o.bootstrap_seed = 7;
  const Comparison p = CompareArms(Arm(kA, 0), Arm(kB, 0), o);
  ASSERT_TRUE(p.boot_low && p.boot_high);
  // SplitMix64(7) pair resampling, np.percentile(boot, 2.5) / (boot, 97.5)
  ExpectRel(*p.boot_low, 0.006750000000000006);
  ExpectRel(*p.boot_high, 0.02125000000000002);
  const Comparison w = CompareArms(Arm(kW1, 0), Arm(kW2, 10), o);
  ASSERT_TRUE(w.boot_low && w.boot_high);
  ExpectRel(*w.boot_low, -0.0013333333333332975, 1e-8);
  ExpectRel(*w.boot_high, 0.06466666666666665);
  // Reproducible from the seed; another seed draws other resamples.
  EXPECT_EQ(*CompareArms(Arm(kW1, 0), Arm(kW2, 10), o).boot_low, *w.boot_low);
  o.bootstrap_seed = 8;
  const Comparison w8 = CompareArms(Arm(kW1, 0), Arm(kW2, 10), o);
  EXPECT_FALSE(*w8.boot_low == *w.boot_low && *w8.boot_high == *w.boot_high);
}

}  // namespace
}  // namespace lcsweep::analysis
