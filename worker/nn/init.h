// Filter initialisations of docs/method.md section 2, drawn from CounterRng so the
// result is a pure function of (kind, shape, fan-in, rng key).
//
// With a = 1/sqrt(fan_in) (PyTorch's default conv init, Kaiming-uniform with
// a = sqrt(5)) and sigma = a/sqrt(3) its standard deviation:
//   kaiming_uniform    U[-a, a]                                   (default)
//   kaiming_normal     N(0, 2/fan_in): He et al.'s normal init, as
//                      torch.nn.init.kaiming_normal_ (fan_in, relu gain). The
//                      one init that does NOT keep sigma: its name fixes it.
//   uniform            U[-1, 1] times the layer scale a (the paper's wording;
//                      the same distribution as kaiming_uniform, other draws)
//   normal             N(0, sigma^2)
//   orthogonal         rows (output filters, flattened to fan_in values) are
//                      orthogonal, scaled so the entries' RMS is sigma. When
//                      there are more rows than fan_in, rows are orthogonal
//                      within consecutive groups of fan_in rows (no more
//                      can be). Own Gram-Schmidt in double: bitwise stable.
//   sign               +-sigma with probability 1/2 each
//   gaussian_envelope  i.i.d. N(0,1) noise times exp(-r^2 / (2 (k/4)^2)),
//                      r the distance from the kernel centre, rescaled so the
//                      expected per-layer variance is sigma^2 (centre-weighted
//                      filters; docs/method.md's spatially structured init)
// Thread-safety: pure functions.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "common/status.h"
#include "worker/nn/counter_rng.h"

namespace lcsweep::nn {

enum class InitKind {
  kKaimingUniform,
  kKaimingNormal,
  kUniform,
  kNormal,
  kOrthogonal,
  kSign,
  kGaussianEnvelope,
};

// Parses conv.init; INVALID_ARGUMENT lists the allowed names.
StatusOr<InitKind> ParseInitKind(const std::string& name);
const char* InitKindName(InitKind kind);

// 1/sqrt(fan_in): the Kaiming-uniform bound a.
double KaimingUniformBound(int64_t fan_in);

// A float32 CPU tensor of `shape` ([rows, ...]; fan-in values per row for
// orthogonal; the last two dims are the kernel for gaussian_envelope) drawn
// with `kind` for a layer of the given fan-in. Deterministic in all inputs.
torch::Tensor InitTensor(InitKind kind, const std::vector<int64_t>& shape, int64_t fan_in,
                         const CounterRng& rng);

// U[-bound, bound] as float32 CPU tensor: biases and the classifier.
torch::Tensor UniformTensor(const std::vector<int64_t>& shape, double bound, const CounterRng& rng);

}  // namespace lcsweep::nn
