#include "worker/nn/counter_rng.h"

#include <cmath>

namespace lcsweep::nn {

namespace {
constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ULL;
constexpr double kTwoPi = 6.283185307179586476925286766559;
}  // namespace

uint64_t SplitMix64Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

CounterRng::CounterRng(uint64_t seed, uint64_t layer, RngStream stream) {
  // Absorb the three key words one after the other so that (seed, layer,
  // stream) tuples that differ in any word give unrelated streams.
  uint64_t h = SplitMix64Mix(seed + kGolden);
  h = SplitMix64Mix(h ^ ((layer + 1) * 0xBF58476D1CE4E5B9ULL));
  h = SplitMix64Mix(h ^ ((static_cast<uint64_t>(stream) + 1) * 0x94D049BB133111EBULL));
  base_ = h;
}

uint64_t CounterRng::Bits(uint64_t i) const { return SplitMix64Mix(base_ + (i + 1) * kGolden); }

double CounterRng::Uniform(uint64_t i) const {
  return static_cast<double>(Bits(i) >> 11) * (1.0 / 9007199254740992.0);  // 2^-53
}

double CounterRng::Normal(uint64_t i) const {
  const double u1 = 1.0 - Uniform(2 * i);  // (0, 1]: log is finite
  const double u2 = Uniform(2 * i + 1);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
}

std::vector<double> CounterRng::UniformVector(int64_t n) const {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = Uniform(static_cast<uint64_t>(i));
  return v;
}

std::vector<double> CounterRng::NormalVector(int64_t n) const {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = Normal(static_cast<uint64_t>(i));
  return v;
}

}  // namespace lcsweep::nn
