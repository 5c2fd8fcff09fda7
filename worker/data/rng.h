// Counter-based random numbers for data order and augmentation.
//
// The data pipeline never uses LibTorch's global generator: every sample's
// augmentation draws from a SplitMix64 stream keyed by (seed, epoch, position),
// so the result does not depend on which thread handles the sample, on the
// thread count, or on where a resumed run restarts.
// Thread-safety: SplitMix64 is a value type; one instance per thread.
#pragma once

#include <cstdint>
#include <vector>

namespace lcsweep::data {

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
  // Standard normal (Box-Muller; one value per call keeps the stream simple).
  double Normal();

 private:
  uint64_t state_;
};

// Mixes several words into one well-distributed seed.
uint64_t MixSeed(uint64_t a, uint64_t b, uint64_t c = 0, uint64_t d = 0);

// The order of an epoch: a permutation of [0, n) that is a pure function of
// (seed, epoch), or the identity when shuffle is false.
std::vector<int64_t> EpochOrder(int64_t n, uint64_t seed, int64_t epoch, bool shuffle);

}  // namespace lcsweep::data
