// Student's t distribution: CDF, two-sided tail and quantile for any
// degrees of freedom df > 0 (Welch's df is not an integer), from the
// regularized incomplete beta function. No dependency beyond <cmath>.
//
// Accuracy: the incomplete beta is the continued fraction of Numerical
// Recipes' betacf evaluated with the modified Lentz method to a relative
// step of 1e-16, so CDF values agree with scipy.stats.t to ~1e-13 relative;
// the quantile is a safeguarded Newton iteration on the CDF to 1e-15
// relative (tests/analysis/significance_test.cc holds scipy's values).
// Thread-safety: pure functions.
#pragma once

namespace lcsweep::analysis {

// I_x(a, b) for a, b > 0 and x in [0, 1]; NaN outside.
double RegularizedIncompleteBeta(double a, double b, double x);

// P(T <= t) for T ~ t(df).
double StudentTCdf(double t, double df);

// P(|T| >= |t|): the two-sided p-value of a t statistic (computed directly,
// not as 1 - CDF, so small p-values keep their digits).
double StudentTTwoSided(double t, double df);

// The t with P(T <= t) = p, p in (0, 1); -inf / +inf at 0 / 1, NaN outside.
double StudentTQuantile(double p, double df);

}  // namespace lcsweep::analysis
