#include "worker/data/rng.h"

#include <cmath>
#include <numeric>

namespace lcsweep::data {

double SplitMix64::Normal() {
  double u1 = Uniform();
  const double u2 = Uniform();
  if (u1 < 1e-300) u1 = 1e-300;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

uint64_t MixSeed(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
  SplitMix64 g(a);
  uint64_t h = g.Next();
  for (uint64_t w : {b, c, d}) {
    SplitMix64 s(h ^ (w * 0xD6E8FEB86659FD93ULL));
    h = s.Next();
  }
  return h;
}

std::vector<int64_t> EpochOrder(int64_t n, uint64_t seed, int64_t epoch, bool shuffle) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  if (!shuffle) return order;
  SplitMix64 g(MixSeed(seed, 0x6F72646572ULL /*"order"*/, static_cast<uint64_t>(epoch)));
  for (int64_t i = n - 1; i > 0; --i) {
    const int64_t j = static_cast<int64_t>(g.Below(static_cast<uint64_t>(i + 1)));
    std::swap(order[i], order[j]);
  }
  return order;
}

}  // namespace lcsweep::data
