#include "server/http/downsample.h"

#include <cmath>

namespace lcsweep {

std::vector<size_t> LargestTriangleThreeBuckets(const std::vector<double>& xs,
                                                const std::vector<double>& ys,
                                                size_t threshold) {
  const size_t n = xs.size() < ys.size() ? xs.size() : ys.size();
  std::vector<size_t> keep;
  if (threshold >= n || threshold < 3) {
    keep.reserve(n);
    for (size_t i = 0; i < n; ++i) keep.push_back(i);
    return keep;
  }
  keep.reserve(threshold);
  // Buckets partition the points 1..n-2; bucket i covers [start(i), start(i+1)).
  const double every = static_cast<double>(n - 2) / static_cast<double>(threshold - 2);
  auto start = [&](size_t bucket) {
    return static_cast<size_t>(std::floor(static_cast<double>(bucket) * every)) + 1;
  };
  const size_t buckets = threshold - 2;
  auto end = [&](size_t bucket) { return bucket + 1 == buckets ? n - 1 : start(bucket + 1); };
  size_t a = 0;  // the last kept point
  keep.push_back(0);
  for (size_t bucket = 0; bucket < buckets; ++bucket) {
    const size_t lo = start(bucket);
    const size_t hi = end(bucket);
    // Mean of the next bucket (the last point for the final bucket).
    const size_t next_lo = hi;
    const size_t next_hi = bucket + 1 == buckets ? n : end(bucket + 1);
    double mx = 0, my = 0;
    for (size_t j = next_lo; j < next_hi; ++j) {
      mx += xs[j];
      my += ys[j];
    }
    const double cnt = static_cast<double>(next_hi - next_lo);
    mx /= cnt;
    my /= cnt;
    double best = -1;
    size_t best_i = lo;
    for (size_t j = lo; j < hi; ++j) {
      // Twice the triangle area; the factor does not change the argmax.
      const double area = std::fabs((xs[a] - mx) * (ys[j] - ys[a]) - (xs[a] - xs[j]) * (my - ys[a]));
      if (area > best) {
        best = area;
        best_i = j;
      }
    }
    keep.push_back(best_i);
    a = best_i;
  }
  keep.push_back(n - 1);
  return keep;
}

}  // namespace lcsweep
