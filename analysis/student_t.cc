// Student's t distribution (see student_t.h).
#include "analysis/student_t.h"

#include <cmath>
#include <limits>

namespace lcsweep::analysis {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The continued fraction of I_x(a, b) (Numerical Recipes 6.4, betacf), by
// the modified Lentz method: converges fast for x < (a + 1) / (a + b + 2).
double BetaContinuedFraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300;
  constexpr double kEps = 1e-16;
  const double qab = a + b, qap = a + 1, qam = a - 1;
  double c = 1, d = 1 - qab * x / qap;
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 10000; ++m) {
    const int m2 = 2 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1) < kEps) break;
  }
  return h;
}

// The t density.
double StudentTPdf(double t, double df) {
  const double log_norm = std::lgamma((df + 1) / 2) - std::lgamma(df / 2) - 0.5 * std::log(df * M_PI);
  return std::exp(log_norm - (df + 1) / 2 * std::log1p(t * t / df));
}

}  // namespace

double RegularizedIncompleteBeta(double a, double b, double x) {
  if (!(a > 0) || !(b > 0) || !(x >= 0) || !(x <= 1)) return kNaN;
  if (x == 0) return 0;
  if (x == 1) return 1;
  const double log_front = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  const double front = std::exp(log_front);
  if (x < (a + 1) / (a + b + 2)) return front * BetaContinuedFraction(a, b, x) / a;
  return 1 - front * BetaContinuedFraction(b, a, 1 - x) / b;
}

double StudentTTwoSided(double t, double df) {
  if (std::isnan(t) || !(df > 0)) return kNaN;
  if (std::isinf(t)) return 0;
  // P(|T| >= t) = I_{df / (df + t^2)}(df / 2, 1 / 2). Where that is close
  // to 1 the incomplete beta uses its symmetric form, so the small values
  // (what a p-value needs) keep their relative digits.
  const double t2 = t * t;
  return RegularizedIncompleteBeta(df / 2, 0.5, df / (df + t2));
}

double StudentTCdf(double t, double df) {
  const double tail = StudentTTwoSided(t, df) / 2;  // P(T >= |t|)
  return t > 0 ? 1 - tail : tail;
}

double StudentTQuantile(double p, double df) {
  if (std::isnan(p) || p < 0 || p > 1 || !(df > 0)) return kNaN;
  if (p == 0) return -std::numeric_limits<double>::infinity();
  if (p == 1) return std::numeric_limits<double>::infinity();
  if (p == 0.5) return 0;
  // Solve for the upper tail q = P(T >= t), t > 0, then restore the sign.
  const double q = p < 0.5 ? p : 1 - p;
  auto upper = [&](double t) { return StudentTTwoSided(t, df) / 2; };
  double lo = 0, hi = 1;
  while (upper(hi) > q && hi < 1e300) {
    lo = hi;
    hi *= 2;
  }
  // Newton on the tail, falling back to bisection whenever a step leaves
  // the bracket [lo, hi] that holds the root.
  double t = (lo + hi) / 2;
  for (int i = 0; i < 400; ++i) {
    const double f = upper(t) - q;  // decreasing in t
    if (f == 0) break;
    if (f > 0) lo = t; else hi = t;
    double next = t + f / StudentTPdf(t, df);
    if (!(next > lo && next < hi)) next = (lo + hi) / 2;
    if (std::fabs(next - t) <= 1e-15 * std::fabs(next)) {
      t = next;
      break;
    }
    t = next;
  }
  return p < 0.5 ? -t : t;
}

}  // namespace lcsweep::analysis
