// Statistics over seeds (see stats.h).
#include "analysis/stats.h"

#include <cmath>

namespace lcsweep::analysis {

Stats ComputeStats(const std::vector<double>& values) {
  Stats s;
  s.n = static_cast<int64_t>(values.size());
  if (s.n == 0) return s;
  double sum = 0;
  for (double v : values) sum += v;
  s.mean = sum / static_cast<double>(s.n);
  if (s.n > 1) {
    // Two passes: the one-pass sum of squares loses digits for close values.
    double ss = 0;
    for (double v : values) ss += (v - s.mean) * (v - s.mean);
    s.std = std::sqrt(ss / static_cast<double>(s.n - 1));
  }
  return s;
}

Stats PoolStats(const std::vector<Stats>& parts) {
  if (parts.size() == 1) return parts[0];  // bit-identical to the part itself
  Stats out;
  double sum = 0;
  for (const auto& p : parts) {
    out.n += p.n;
    sum += p.mean * static_cast<double>(p.n);
  }
  if (out.n == 0) return out;
  out.mean = sum / static_cast<double>(out.n);
  // Within-part squares plus between-part squares.
  double m2 = 0;
  for (const auto& p : parts) {
    const double d = p.mean - out.mean;
    m2 += p.std * p.std * static_cast<double>(p.n > 1 ? p.n - 1 : 0) + static_cast<double>(p.n) * d * d;
  }
  out.std = out.n > 1 ? std::sqrt(m2 / static_cast<double>(out.n - 1)) : 0;
  return out;
}

double StdError(const Stats& s) { return s.n > 1 ? s.std / std::sqrt(static_cast<double>(s.n)) : 0; }

nlohmann::json StatsJson(const Stats& s) {
  return nlohmann::json{{"mean", s.mean}, {"std", s.std}, {"stderr", StdError(s)}, {"n", s.n}};
}

}  // namespace lcsweep::analysis
