#include "worker/nn/init.h"

#include <cmath>
#include <numeric>

namespace lcsweep::nn {

namespace {

struct InitName {
  InitKind kind;
  const char* name;
};
constexpr InitName kInitNames[] = {
    {InitKind::kKaimingUniform, "kaiming_uniform"},
    {InitKind::kKaimingNormal, "kaiming_normal"},
    {InitKind::kUniform, "uniform"},
    {InitKind::kNormal, "normal"},
    {InitKind::kOrthogonal, "orthogonal"},
    {InitKind::kSign, "sign"},
    {InitKind::kGaussianEnvelope, "gaussian_envelope"},
};

torch::Tensor FromDoubles(const std::vector<double>& values, const std::vector<int64_t>& shape) {
  auto t = torch::empty(shape, torch::kFloat32);
  float* out = t.data_ptr<float>();
  for (size_t i = 0; i < values.size(); ++i) out[i] = static_cast<float>(values[i]);
  return t;
}

// Orthonormalises the rows of a [rows, cols] row-major block in place
// (modified Gram-Schmidt, run twice for numerical orthogonality).
void OrthonormaliseRows(double* m, int64_t rows, int64_t cols) {
  for (int pass = 0; pass < 2; ++pass) {
    for (int64_t r = 0; r < rows; ++r) {
      double* v = m + r * cols;
      for (int64_t q = 0; q < r; ++q) {
        const double* u = m + q * cols;
        double dot = 0;
        for (int64_t c = 0; c < cols; ++c) dot += u[c] * v[c];
        for (int64_t c = 0; c < cols; ++c) v[c] -= dot * u[c];
      }
      double norm = 0;
      for (int64_t c = 0; c < cols; ++c) norm += v[c] * v[c];
      norm = std::sqrt(norm);
      for (int64_t c = 0; c < cols; ++c) v[c] /= norm;
    }
  }
}

}  // namespace

StatusOr<InitKind> ParseInitKind(const std::string& name) {
  for (const auto& entry : kInitNames) {
    if (name == entry.name) return entry.kind;
  }
  std::string allowed;
  for (const auto& entry : kInitNames) allowed += std::string(allowed.empty() ? "" : ", ") + entry.name;
  return InvalidArgumentError("unknown conv.init '" + name + "'; allowed: " + allowed);
}

const char* InitKindName(InitKind kind) {
  for (const auto& entry : kInitNames) {
    if (entry.kind == kind) return entry.name;
  }
  return "?";
}

double KaimingUniformBound(int64_t fan_in) { return 1.0 / std::sqrt(static_cast<double>(fan_in)); }

torch::Tensor UniformTensor(const std::vector<int64_t>& shape, double bound, const CounterRng& rng) {
  const int64_t n = std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
  std::vector<double> v = rng.UniformVector(n);
  for (double& x : v) x = (2.0 * x - 1.0) * bound;
  return FromDoubles(v, shape);
}

torch::Tensor InitTensor(InitKind kind, const std::vector<int64_t>& shape, int64_t fan_in,
                         const CounterRng& rng) {
  const int64_t n = std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
  const double a = KaimingUniformBound(fan_in);
  const double sigma = a / std::sqrt(3.0);
  std::vector<double> v;
  switch (kind) {
    case InitKind::kKaimingUniform:
    case InitKind::kUniform: {
      // "uniform" takes another stream offset so the two axes values do not
      // produce the very same tensor.
      const uint64_t offset = kind == InitKind::kUniform ? (uint64_t{1} << 62) : 0;
      v.resize(n);
      for (int64_t i = 0; i < n; ++i) v[i] = (2.0 * rng.Uniform(offset + i) - 1.0) * a;
      break;
    }
    case InitKind::kKaimingNormal: {
      const double std = std::sqrt(2.0 / static_cast<double>(fan_in));
      v = rng.NormalVector(n);
      for (double& x : v) x *= std;
      break;
    }
    case InitKind::kNormal:
      v = rng.NormalVector(n);
      for (double& x : v) x *= sigma;
      break;
    case InitKind::kSign:
      v.resize(n);
      for (int64_t i = 0; i < n; ++i) v[i] = (rng.Bits(i) >> 63) ? sigma : -sigma;
      break;
    case InitKind::kOrthogonal: {
      const int64_t rows = shape.at(0);
      const int64_t cols = n / rows;
      v = rng.NormalVector(n);
      for (int64_t start = 0; start < rows; start += cols) {
        const int64_t block = std::min(cols, rows - start);
        OrthonormaliseRows(v.data() + start * cols, block, cols);
      }
      // Unit rows have mean square 1/cols per entry.
      const double scale = std::sqrt(static_cast<double>(cols)) * sigma;
      for (double& x : v) x *= scale;
      break;
    }
    case InitKind::kGaussianEnvelope: {
      const int64_t kh = shape.size() >= 2 ? shape[shape.size() - 2] : 1;
      const int64_t kw = shape.size() >= 2 ? shape[shape.size() - 1] : 1;
      const double width = std::max(kh, kw) / 4.0;
      std::vector<double> envelope(kh * kw);
      double mean_square = 0;
      for (int64_t y = 0; y < kh; ++y) {
        for (int64_t x = 0; x < kw; ++x) {
          const double dy = y - (kh - 1) / 2.0, dx = x - (kw - 1) / 2.0;
          const double g = std::exp(-(dx * dx + dy * dy) / (2 * width * width));
          envelope[y * kw + x] = g;
          mean_square += g * g;
        }
      }
      mean_square /= static_cast<double>(kh * kw);
      const double scale = sigma / std::sqrt(mean_square);
      v = rng.NormalVector(n);
      for (int64_t i = 0; i < n; ++i) v[i] *= scale * envelope[i % (kh * kw)];
      break;
    }
  }
  return FromDoubles(v, shape);
}

}  // namespace lcsweep::nn
