// Filter statistics of docs/method.md section 6, per spatial layer, on S, P and the
// folded filters W. All computed in double precision on the CPU.
//
// For a weight tensor [c_out, c_in, k, k]:
// - sparsity: t = 0.01 * max|W| over the layer; a k x k kernel is sparse when
//   all its entries are below t in magnitude; result = sparse kernels / kernels.
//   (An all-zero layer counts as fully sparse.)
// - FVE: the N = c_out*c_in kernels as rows of an [N, k^2] matrix, centred by
//   subtracting the mean kernel, singular values sigma, p_i = sigma_i^2 /
//   sum sigma^2, FVE = -sum p_i log10 p_i (0 log 0 = 0). NaN when every kernel
//   equals the mean (no variance at all).
// - normalised FVE = FVE / thr(N), thr(N) = 1.2618047 / (1 + exp(-0.88767525 *
//   (log2 N - 2.30436435))) - 0.31050834; defined for 3x3 kernels only.
// - orthogonality: each output filter flattened to a row and L2-normalised,
//   G = |W W^T - I|, 1 - sum(G) / (n (n - 1)); NaN for a single filter.
// For the 1x1 combination P ([c_out, c_out*E, 1, 1]) a "kernel" is a single
// weight: sparsity is then the fraction of combination weights below t (well
// defined and meaningful: how many spatial filters an output ignores), while
// FVE and normalised FVE are not applicable (a 1-value kernel has one
// singular direction, so FVE would be 0 for any P) and are reported as null.
// Orthogonality of P compares the combination vectors of the outputs.
// NaN values become JSON null.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "worker/nn/network.h"

namespace lcsweep::eval {

double Sparsity(const torch::Tensor& w);
double Fve(const torch::Tensor& w);
double FveThreshold(int64_t n_kernels);
double NormalisedFve(const torch::Tensor& w);  // NaN unless k == 3
double Orthogonality(const torch::Tensor& w);

// {"sparsity", "fve", "fve_normalised", "orthogonality", "shape"}; null where
// not applicable (see above). An undefined tensor gives null.
nlohmann::json TensorFilterStats(const torch::Tensor& w);

// One entry per layer: {name, index, S:{...}, P:{...}|null, folded:{...}}.
nlohmann::json LayerFilterStats(const std::vector<nn::SpatialLayerView>& layers);

}  // namespace lcsweep::eval
