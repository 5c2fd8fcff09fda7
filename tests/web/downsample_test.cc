// LTTB down-sampling: compared with a direct, independent implementation of
// the published algorithm on random and shaped series.
#include "server/http/downsample.h"

#include <cmath>
#include <random>

#include <gtest/gtest.h>

namespace lcsweep {
namespace {

// Reference LTTB written from the paper's pseudo code (Steinarsson 2013,
// algorithm 4.2), with floating bucket bounds as in the reference JS.
std::vector<size_t> ReferenceLttb(const std::vector<double>& x, const std::vector<double>& y, size_t threshold) {
  const size_t n = x.size();
  std::vector<size_t> out;
  if (threshold >= n || threshold < 3) {
    for (size_t i = 0; i < n; ++i) out.push_back(i);
    return out;
  }
  const double every = double(n - 2) / double(threshold - 2);
  size_t a = 0;
  out.push_back(0);
  for (size_t i = 0; i < threshold - 2; ++i) {
    size_t avg_start = size_t(std::floor(double(i + 1) * every)) + 1;
    size_t avg_end = size_t(std::floor(double(i + 2) * every)) + 1;
    if (avg_end > n) avg_end = n;
    if (i + 1 == threshold - 2) { avg_start = n - 1; avg_end = n; }
    double ax = 0, ay = 0;
    for (size_t j = avg_start; j < avg_end; ++j) { ax += x[j]; ay += y[j]; }
    ax /= double(avg_end - avg_start);
    ay /= double(avg_end - avg_start);
    const size_t lo = size_t(std::floor(double(i) * every)) + 1;
    size_t hi = size_t(std::floor(double(i + 1) * every)) + 1;
    if (i + 1 == threshold - 2) hi = n - 1;
    double best = -1;
    size_t pick = lo;
    for (size_t j = lo; j < hi; ++j) {
      const double area = std::fabs((x[a] - ax) * (y[j] - y[a]) - (x[a] - x[j]) * (ay - y[a])) * 0.5;
      if (area > best) { best = area; pick = j; }
    }
    out.push_back(pick);
    a = pick;
  }
  out.push_back(n - 1);
  return out;
}

TEST(Downsample, MatchesReferenceOnRandomSeries) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0, 1);
  for (size_t n : {10u, 101u, 1000u, 12345u}) {
    for (size_t threshold : {3u, 7u, 100u, 999u}) {
      std::vector<double> x(n), y(n);
      for (size_t i = 0; i < n; ++i) { x[i] = double(i) * 2; y[i] = std::sin(double(i) / 50) + 0.2 * noise(rng); }
      EXPECT_EQ(LargestTriangleThreeBuckets(x, y, threshold), ReferenceLttb(x, y, threshold))
          << "n=" << n << " threshold=" << threshold;
    }
  }
}

TEST(Downsample, KeepsEndsCountAndSpikes) {
  const size_t n = 100000;
  std::vector<double> x(n), y(n, 1.0);
  for (size_t i = 0; i < n; ++i) x[i] = double(i);
  y[31337] = 50.0;  // a loss spike must survive down-sampling
  auto keep = LargestTriangleThreeBuckets(x, y, 1000);
  ASSERT_EQ(keep.size(), 1000u);
  EXPECT_EQ(keep.front(), 0u);
  EXPECT_EQ(keep.back(), n - 1);
  for (size_t i = 1; i < keep.size(); ++i) EXPECT_LT(keep[i - 1], keep[i]);
  EXPECT_NE(std::find(keep.begin(), keep.end(), 31337u), keep.end());
}

TEST(Downsample, ShortSeriesUntouched) {
  std::vector<double> x = {0, 1, 2}, y = {3, 4, 5};
  EXPECT_EQ(LargestTriangleThreeBuckets(x, y, 1000), (std::vector<size_t>{0, 1, 2}));
  EXPECT_EQ(LargestTriangleThreeBuckets(x, y, 2), (std::vector<size_t>{0, 1, 2}));
}

}  // namespace
}  // namespace lcsweep
