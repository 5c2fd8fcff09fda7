#include "worker/eval/filter_stats.h"

#include <cmath>
#include <limits>

namespace lcsweep::eval {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

torch::Tensor AsDouble(const torch::Tensor& w) { return w.detach().to(torch::kCPU, torch::kDouble).contiguous(); }

nlohmann::json Num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

}  // namespace

double Sparsity(const torch::Tensor& w) {
  torch::Tensor a = AsDouble(w).abs();
  const int64_t kernels = a.size(0) * a.size(1);
  if (kernels == 0) return kNaN;
  const double t = 0.01 * a.max().item<double>();
  if (t == 0) return 1.0;
  torch::Tensor per_kernel_max = a.reshape({kernels, -1}).amax(1);
  return per_kernel_max.lt(t).sum().item<double>() / kernels;
}

double Fve(const torch::Tensor& w) {
  torch::Tensor k = AsDouble(w);
  const int64_t n = k.size(0) * k.size(1);
  torch::Tensor m = k.reshape({n, -1});
  const double raw = m.pow(2).sum().item<double>();
  m = m - m.mean(0, /*keepdim=*/true);
  torch::Tensor s = torch::linalg_svdvals(m);
  torch::Tensor s2 = s * s;
  const double total = s2.sum().item<double>();
  // No variance beyond rounding of the mean (identical kernels): undefined.
  if (!(total > 1e-24 * raw)) return kNaN;
  torch::Tensor p = s2 / total;
  p = p.masked_select(p > 0);
  return -(p * p.log10()).sum().item<double>();
}

double FveThreshold(int64_t n_kernels) {
  const double l = std::log2(static_cast<double>(n_kernels));
  return 1.2618047 / (1 + std::exp(-0.88767525 * (l - 2.30436435))) - 0.31050834;
}

double NormalisedFve(const torch::Tensor& w) {
  if (w.dim() != 4 || w.size(2) != 3 || w.size(3) != 3) return kNaN;
  return Fve(w) / FveThreshold(w.size(0) * w.size(1));
}

double Orthogonality(const torch::Tensor& w) {
  torch::Tensor f = AsDouble(w);
  const int64_t n = f.size(0);
  if (n < 2) return kNaN;
  f = f.reshape({n, -1});
  f = f / f.norm(2, 1, /*keepdim=*/true).clamp_min(1e-300);
  torch::Tensor g = (f.matmul(f.t()) - torch::eye(n, torch::kDouble)).abs();
  return 1.0 - g.sum().item<double>() / (static_cast<double>(n) * (n - 1));
}

nlohmann::json TensorFilterStats(const torch::Tensor& w) {
  if (!w.defined()) return nullptr;
  nlohmann::json j;
  j["shape"] = w.sizes().vec();
  j["sparsity"] = Num(Sparsity(w));
  const bool spatial = w.size(2) * w.size(3) > 1;
  j["fve"] = spatial ? Num(Fve(w)) : nlohmann::json(nullptr);
  j["fve_normalised"] = spatial ? Num(NormalisedFve(w)) : nlohmann::json(nullptr);
  j["orthogonality"] = Num(Orthogonality(w));
  return j;
}

nlohmann::json LayerFilterStats(const std::vector<nn::SpatialLayerView>& layers) {
  nlohmann::json out = nlohmann::json::array();
  for (const nn::SpatialLayerView& layer : layers) {
    out.push_back({{"name", layer.name},
                   {"index", layer.index},
                   {"S", TensorFilterStats(layer.spatial)},
                   {"P", TensorFilterStats(layer.combination)},
                   {"folded", TensorFilterStats(layer.folded)}});
  }
  return out;
}

}  // namespace lcsweep::eval
