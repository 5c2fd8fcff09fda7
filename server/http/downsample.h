// Down-sampling of metric series for plotting, done on the server so that a
// job with 100,000 points per curve costs the browser a few hundred.
//
// LargestTriangleThreeBuckets (Steinarsson 2013, "LTTB"): keeps the first and
// last point and, from each of `threshold - 2` equal buckets in between, the
// point that forms the largest triangle with the previous kept point and the
// mean of the next bucket. It preserves peaks and the visual shape of a curve
// far better than taking every k-th point. Input must be ordered by x.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <vector>

namespace lcsweep {

// Indices (ascending) of the points to keep out of n points with coordinates
// xs/ys. Returns all indices when threshold >= n or threshold < 3.
std::vector<size_t> LargestTriangleThreeBuckets(const std::vector<double>& xs,
                                                const std::vector<double>& ys,
                                                size_t threshold);

}  // namespace lcsweep
