// SplitMix64 (Steele, Lea, Flood 2014): the project's one seeded generator
// for anything that must be reproducible from a seed alone, on every
// platform and standard library (the data pipeline's order and
// augmentation, random search over a sweep spec, bootstrap resampling).
// std::uniform_*_distribution is never used for such draws: its output is
// implementation-defined, so the same seed would give other numbers with
// another standard library.
// Thread-safety: a value type; one instance per thread.
#pragma once

#include <cstdint>

namespace lcsweep {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, n); n > 0. Rejection sampling keeps it unbiased.
  uint64_t Below(uint64_t n) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t r;
    do {
      r = Next();
    } while (r >= limit);
    return r % n;
  }

 private:
  uint64_t state_;
};

}  // namespace lcsweep
