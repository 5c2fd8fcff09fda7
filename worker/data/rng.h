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

#include "common/splitmix64.h"

namespace lcsweep::data {

// The common generator (common/splitmix64.h) plus the normal draws that
// augmentation needs.
class SplitMix64 : public lcsweep::SplitMix64 {
 public:
  using lcsweep::SplitMix64::SplitMix64;
  // Standard normal (Box-Muller; one value per call keeps the stream simple).
  double Normal();
};

// Mixes several words into one well-distributed seed.
uint64_t MixSeed(uint64_t a, uint64_t b, uint64_t c = 0, uint64_t d = 0);

// The order of an epoch: a permutation of [0, n) that is a pure function of
// (seed, epoch), or the identity when shuffle is false.
std::vector<int64_t> EpochOrder(int64_t n, uint64_t seed, int64_t epoch, bool shuffle);

}  // namespace lcsweep::data
