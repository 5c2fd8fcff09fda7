// CounterRng: the project's own counter-based random numbers for every
// tensor a model initialises (frozen spatial filters, P, shortcut convs, the
// classifier, shared tensors).
//
// Why not torch's generator: frozen filters must be bitwise identical on any
// machine and LibTorch version (docs/method.md section 2), and a resumed or
// re-run job must start from the same learned init. The i-th value of a
// stream is a pure function of (seed, layer, stream, i): SplitMix64's output
// function applied to a counter, so values are generated in double on the
// CPU with integer arithmetic (uniform) or Box-Muller (normal; uses libm
// log/cos in double, then rounds to float, so a last-bit libm difference would
// have to survive the float rounding to show).
// Thread-safety: stateless value type; safe to use from several threads.
#pragma once

#include <cstdint>
#include <vector>

namespace lcsweep::nn {

// Which tensor of a layer a stream feeds; part of the key so that, e.g., S
// and P of one layer never share random numbers.
enum class RngStream : uint64_t {
  kSpatial = 0,         // S (or the plain conv's weight)
  kCombination = 1,     // P
  kShortcut = 2,        // 1x1 shortcut conv
  kClassifierWeight = 3,
  kClassifierBias = 4,
  kShared = 5,          // shared spatial tensor T (sharing modes)
};

class CounterRng {
 public:
  CounterRng(uint64_t seed, uint64_t layer, RngStream stream);

  // Raw 64-bit value number `i` of this stream.
  uint64_t Bits(uint64_t i) const;
  // Uniform in [0, 1) with 53 random bits.
  double Uniform(uint64_t i) const;
  // Standard normal (Box-Muller on values 2i and 2i+1).
  double Normal(uint64_t i) const;

  std::vector<double> UniformVector(int64_t n) const;  // values 0..n-1
  std::vector<double> NormalVector(int64_t n) const;

 private:
  uint64_t base_;
};

// SplitMix64's finaliser (Steele, Lea, Flood 2014).
uint64_t SplitMix64Mix(uint64_t z);

}  // namespace lcsweep::nn
