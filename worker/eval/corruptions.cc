#include "worker/eval/corruptions.h"

#include <ATen/CPUGeneratorImpl.h>

#include <array>
#include <cmath>
#include <map>
#include <sstream>

#include "worker/eval/corruption_ops.h"

namespace lcsweep::eval {
namespace {

using ops::Boundary;

// Severity tables of make_cifar_c.py (CIFAR versions), severity 1..5.
struct Table {
  const char* parameters;                    // names of the entries of each row
  std::array<std::vector<double>, 5> rows;
};

const std::map<std::string, Table>& Tables() {
  static const std::map<std::string, Table> tables = {
      {"gaussian_noise", {"std", {{{0.04}, {0.06}, {0.08}, {0.09}, {0.10}}}}},
      {"shot_noise", {"photons", {{{500}, {250}, {100}, {75}, {50}}}}},
      {"impulse_noise", {"amount", {{{0.01}, {0.02}, {0.03}, {0.05}, {0.07}}}}},
      {"speckle_noise", {"std", {{{0.06}, {0.1}, {0.12}, {0.16}, {0.2}}}}},
      {"defocus_blur", {"radius,alias_blur", {{{0.3, 0.4}, {0.4, 0.5}, {0.5, 0.6}, {1, 0.2}, {1.5, 0.1}}}}},
      {"glass_blur",
       {"sigma,max_delta,iterations", {{{0.05, 1, 1}, {0.25, 1, 1}, {0.4, 1, 1}, {0.25, 1, 2}, {0.4, 1, 2}}}}},
      {"motion_blur", {"radius,sigma", {{{6, 1}, {6, 1.5}, {6, 2}, {8, 2}, {9, 2.5}}}}},
      // np.arange(1, 1.06, 0.01) etc.: zooms 1 + 0.01 i for i < count (numpy's
      // float arange gives 7, 12, 16, 21, 26 values).
      {"zoom_blur", {"zoom_count", {{{7}, {12}, {16}, {21}, {26}}}}},
      {"gaussian_blur", {"sigma", {{{0.4}, {0.6}, {0.7}, {0.8}, {1}}}}},
      {"snow",
       {"loc,scale,zoom,threshold,blur_radius,blur_sigma,blend",
        {{{0.1, 0.2, 1, 0.6, 8, 3, 0.95},
          {0.1, 0.2, 1, 0.5, 10, 4, 0.9},
          {0.15, 0.3, 1.75, 0.55, 10, 4, 0.9},
          {0.25, 0.3, 2.25, 0.6, 12, 6, 0.85},
          {0.3, 0.3, 1.25, 0.65, 14, 12, 0.8}}}}},
      {"frost", {"image_weight,frost_weight", {{{1, 0.2}, {1, 0.3}, {0.9, 0.4}, {0.85, 0.4}, {0.75, 0.45}}}}},
      {"fog", {"strength,wibbledecay", {{{0.2, 3}, {0.5, 3}, {0.75, 2.5}, {1, 2}, {1.5, 1.75}}}}},
      {"brightness", {"value_shift", {{{0.05}, {0.1}, {0.15}, {0.2}, {0.3}}}}},
      {"contrast", {"factor", {{{0.75}, {0.5}, {0.4}, {0.3}, {0.15}}}}},
      // Multiples of the image size (IMSIZE = 32 in the original).
      {"elastic_transform",
       {"alpha,sigma,affine",
        {{{0, 0, 0.08}, {0.05, 0.2, 0.07}, {0.08, 0.06, 0.06}, {0.1, 0.04, 0.05}, {0.1, 0.03, 0.03}}}}},
      {"pixelate", {"scale", {{{0.95}, {0.9}, {0.85}, {0.75}, {0.65}}}}},
      {"jpeg_compression", {"quality", {{{80}, {65}, {58}, {50}, {40}}}}},
      {"spatter",
       {"loc,scale,sigma,threshold,intensity,mud",
        {{{0.62, 0.1, 0.7, 0.7, 0.5, 0},
          {0.65, 0.1, 0.8, 0.7, 0.5, 0},
          {0.65, 0.3, 1, 0.69, 0.5, 0},
          {0.65, 0.1, 0.7, 0.69, 0.6, 1},
          {0.65, 0.1, 0.5, 0.68, 0.6, 1}}}}},
      {"saturate", {"factor,shift", {{{0.3, 0}, {0.1, 0}, {1.5, 0}, {2, 0.1}, {2.5, 0.2}}}}},
  };
  return tables;
}

uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

std::vector<double> UniformVector(int64_t n, double lo, double hi, at::Generator& gen) {
  torch::Tensor u = torch::rand({n}, gen, torch::kDouble) * (hi - lo) + lo;
  return std::vector<double>(u.data_ptr<double>(), u.data_ptr<double>() + n);
}

// Colour-only operations on grey images: replicate, apply, take the luma.
template <typename F>
torch::Tensor OnRgb(const torch::Tensor& x, F fn) {
  if (x.size(1) == 3) return fn(x);
  return ops::Luma(fn(x.expand({-1, 3, -1, -1}).contiguous()));
}

torch::Tensor GlassBlur(const torch::Tensor& x, const std::vector<double>& c, at::Generator& gen) {
  const int64_t n = x.size(0), ch = x.size(1), h = x.size(2), w = x.size(3);
  const int64_t d = static_cast<int64_t>(c[1]), iters = static_cast<int64_t>(c[2]);
  torch::Tensor y = ops::QuantiseTrunc(ops::GaussianBlur(x, c[0])).contiguous();
  // range(H - d, d, -1) x range(W - d, d, -1) positions, two randint(-d, d) each.
  const int64_t rows = std::max<int64_t>(h - 2 * d, 0), cols = std::max<int64_t>(w - 2 * d, 0);
  torch::Tensor shifts = torch::randint(-d, d, {n, iters, rows * cols, 2}, gen, torch::kLong);
  auto s = shifts.accessor<int64_t, 4>();
  auto a = y.accessor<float, 4>();
  for (int64_t img = 0; img < n; ++img)
    for (int64_t it = 0; it < iters; ++it) {
      int64_t k = 0;
      for (int64_t hh = h - d; hh > d; --hh)
        for (int64_t ww = w - d; ww > d; --ww, ++k) {
          const int64_t dx = s[img][it][k][0], dy = s[img][it][k][1];
          const int64_t hp = std::min(std::max(hh + dy, int64_t{0}), h - 1);
          const int64_t wp = std::min(std::max(ww + dx, int64_t{0}), w - 1);
          if (hh >= h || ww >= w) continue;
          // The original's "swap" of numpy row views is in effect a copy:
          // x[h, w] takes x[h', w'] and x[h', w'] keeps its value.
          for (int64_t cc = 0; cc < ch; ++cc) a[img][cc][hh][ww] = a[img][cc][hp][wp];
        }
    }
  return ops::GaussianBlur(y, c[0]);
}

torch::Tensor DefocusBlur(const torch::Tensor& x, const std::vector<double>& c) {
  const double radius = c[0], alias = c[1];
  const int64_t r = radius <= 8 ? 8 : static_cast<int64_t>(radius);
  torch::Tensor l = torch::arange(-r, r + 1, torch::kDouble);
  torch::Tensor disk = ((l.view({-1, 1}).pow(2) + l.view({1, -1}).pow(2)) <= radius * radius).to(torch::kDouble);
  disk = disk / disk.sum();
  // cv2.GaussianBlur(ksize 3 (5 above radius 8), sigma = alias_blur), BORDER_REFLECT_101.
  const int64_t kr = radius <= 8 ? 1 : 2;
  std::vector<double> g;
  double sum = 0;
  for (int64_t i = -kr; i <= kr; ++i) {
    g.push_back(std::exp(-0.5 * i * i / (alias * alias)));
    sum += g.back();
  }
  for (double& v : g) v /= sum;
  disk = ops::SeparableFilter(disk.view({1, 1, 2 * r + 1, 2 * r + 1}), g, Boundary::kReflect101).view({2 * r + 1, 2 * r + 1});
  return ops::Filter2D(x, disk.to(x.scalar_type()), Boundary::kReflect101);
}

torch::Tensor Snow(const torch::Tensor& x, const std::vector<double>& c, at::Generator& gen) {
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  torch::Tensor layer = torch::randn({n, 1, h, w}, gen, x.options()) * c[1] + c[0];
  layer = ops::ClippedZoom(layer, c[2]);
  layer = torch::where(layer < c[3], torch::zeros_like(layer), layer);
  layer = ops::QuantiseTrunc(layer.clamp(0, 1));
  layer = ops::QuantiseRound(ops::MotionBlur(layer, c[4], c[5], UniformVector(n, -135, -45, gen)));
  torch::Tensor grey = x.size(1) == 3 ? ops::Luma(x) : x;
  torch::Tensor y = c[6] * x + (1 - c[6]) * torch::max(x, grey * 1.5 + 0.5);
  return y + layer + layer.flip({2, 3});
}

torch::Tensor Fog(const torch::Tensor& x, const std::vector<double>& c, at::Generator& gen) {
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  int64_t mapsize = 1;
  while (mapsize < std::max(h, w)) mapsize *= 2;
  mapsize = std::max<int64_t>(mapsize, 2);
  torch::Tensor out = torch::empty_like(x);
  for (int64_t img = 0; img < n; ++img) {
    torch::Tensor fog = ops::PlasmaFractal(mapsize, c[1], gen).narrow(0, 0, h).narrow(1, 0, w).to(x.scalar_type());
    const double max_val = x[img].max().item<double>();
    out[img] = (x[img] + c[0] * fog.unsqueeze(0)) * max_val / (max_val + c[0]);
  }
  return out;
}

torch::Tensor ElasticTransform(const torch::Tensor& x, const std::vector<double>& p, at::Generator& gen) {
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  const double size = static_cast<double>(std::min(h, w));
  const double alpha = p[0] * size, sigma = p[1] * size, affine = p[2] * size;
  const double cx = std::floor(h / 2.0), cy = std::floor(w / 2.0), sq = std::floor(std::min(h, w) / 3.0);
  torch::Tensor pts1 = torch::tensor({cx + sq, cy + sq, cx + sq, cy - sq, cx - sq, cy - sq}, torch::kDouble).view({3, 2});
  torch::Tensor jitter = torch::rand({n, 3, 2}, gen, torch::kDouble) * (2 * affine) - affine;
  torch::Tensor ones = torch::ones({3, 1}, torch::kDouble);
  torch::Tensor p1 = torch::cat({pts1, ones}, 1);  // [3, 3] rows (x, y, 1)
  torch::Tensor rows = torch::arange(h, torch::kDouble).view({h, 1}).expand({h, w});
  torch::Tensor cols = torch::arange(w, torch::kDouble).view({1, w}).expand({h, w});
  std::vector<torch::Tensor> src_y, src_x;
  for (int64_t img = 0; img < n; ++img) {
    // cv2.getAffineTransform(pts1, pts2): pts2 = M [x y 1]^T; warpAffine samples src at M^-1(dst).
    torch::Tensor m = torch::linalg_solve(p1, pts1 + jitter[img]).t();  // [2, 3]
    torch::Tensor a_inv = torch::linalg_inv(m.narrow(1, 0, 2));
    torch::Tensor bx = cols - m[0][2], by = rows - m[1][2];
    src_x.push_back(a_inv[0][0] * bx + a_inv[0][1] * by);
    src_y.push_back(a_inv[1][0] * bx + a_inv[1][1] * by);
  }
  torch::Tensor warped = ops::BilinearSample(x, torch::stack(src_y), torch::stack(src_x), Boundary::kReflect101);
  torch::Tensor dx = torch::rand({n, 1, h, w}, gen, torch::kDouble) * 2 - 1;
  torch::Tensor dy = torch::rand({n, 1, h, w}, gen, torch::kDouble) * 2 - 1;
  dx = ops::GaussianBlur(dx, sigma, Boundary::kReflect, 3.0) * alpha;
  dy = ops::GaussianBlur(dy, sigma, Boundary::kReflect, 3.0) * alpha;
  return ops::BilinearSample(warped, rows.unsqueeze(0) + dy.squeeze(1), cols.unsqueeze(0) + dx.squeeze(1),
                             Boundary::kReflect);
}

torch::Tensor Pixelate(const torch::Tensor& x, double scale) {
  const int64_t h = x.size(2), w = x.size(3);
  const int64_t sh = static_cast<int64_t>(h * scale), sw = static_cast<int64_t>(w * scale);
  auto resize = [](const torch::Tensor& img, int64_t oh, int64_t ow) {
    // PIL: horizontal pass, 8-bit image, then vertical pass.
    torch::Tensor mw = ops::PilBoxMatrix(img.size(3), ow).to(img.scalar_type());
    torch::Tensor mh = ops::PilBoxMatrix(img.size(2), oh).to(img.scalar_type());
    torch::Tensor t = ops::QuantiseRound(torch::matmul(img, mw.t()));
    return ops::QuantiseRound(torch::matmul(mh, t));
  };
  return resize(resize(ops::QuantiseRound(x), sh, sw), h, w);
}

torch::Tensor Spatter(const torch::Tensor& x, const std::vector<double>& c, at::Generator& gen) {
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  torch::Tensor liquid = torch::randn({n, 1, h, w}, gen, torch::kDouble) * c[1] + c[0];
  liquid = ops::GaussianBlur(liquid, c[2]);
  liquid = torch::where(liquid < c[3], torch::zeros_like(liquid), liquid);
  if (c[5] == 0) {  // water: pale turquoise drops with shaded rims
    torch::Tensor color = torch::tensor({175.0 / 255, 238.0 / 255, 238.0 / 255}, torch::kDouble).view({1, 3, 1, 1});
    torch::Tensor box = torch::full({3, 3}, 1.0 / 9, torch::kDouble);
    torch::Tensor ker = torch::tensor({-2., -1., 0., -1., 1., 1., 0., 1., 2.}, torch::kDouble).view({3, 3});
    std::vector<torch::Tensor> masks;
    for (int64_t img = 0; img < n; ++img) {
      torch::Tensor l = liquid[img][0];
      torch::Tensor l8 = torch::floor((l * 255).clamp(0, 255));
      torch::Tensor dist = ops::DistanceToZero(255 - 255 * ops::Canny(l8, 50, 150)).clamp_max(20);
      dist = torch::floor(ops::Filter2D(dist.view({1, 1, h, w}), box, Boundary::kReflect101)).view({h, w});
      dist = ops::EqualizeHist(dist);
      dist = torch::round(ops::Filter2D(dist.view({1, 1, h, w}), ker, Boundary::kReflect101)).clamp(0, 255);
      dist = ops::Filter2D(dist, box, Boundary::kReflect101).view({h, w});
      torch::Tensor m = l * dist;
      const double mx = m.max().item<double>();
      masks.push_back(mx > 0 ? m / mx * c[4] : torch::zeros_like(m));
    }
    torch::Tensor m = torch::stack(masks).unsqueeze(1);
    return OnRgb(x, [&](const torch::Tensor& rgb) { return rgb + (m * color).to(rgb.scalar_type()); });
  }
  // mud: brown blobs replace the image.
  torch::Tensor m = ops::GaussianBlur((liquid > c[3]).to(torch::kDouble), c[4]);
  m = torch::where(m < 0.8, torch::zeros_like(m), m);
  torch::Tensor color = torch::tensor({63.0 / 255, 42.0 / 255, 20.0 / 255}, torch::kDouble).view({1, 3, 1, 1});
  return OnRgb(x, [&](const torch::Tensor& rgb) {
    return (rgb * (1 - m) + color * m).to(rgb.scalar_type());
  });
}

}  // namespace

const std::vector<std::string>& AllCorruptionNames() {
  static const std::vector<std::string> names = {
      "gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise",     "defocus_blur",
      "glass_blur",     "motion_blur", "zoom_blur",    "gaussian_blur",     "snow",
      "frost",          "fog",         "brightness",   "contrast",          "elastic_transform",
      "pixelate",       "jpeg_compression", "spatter", "saturate"};
  return names;
}

bool IsGenerated(const std::string& name) { return Tables().count(name) > 0 && name != "frost"; }

StatusOr<std::string> SeverityParameters(const std::string& name, int severity) {
  auto it = Tables().find(name);
  if (it == Tables().end()) return InvalidArgumentError("unknown corruption '" + name + "'");
  if (severity < 1 || severity > 5)
    return InvalidArgumentError("corruption severity " + std::to_string(severity) + " out of range 1..5");
  std::ostringstream out;
  out << it->second.parameters << "=";
  const std::vector<double>& row = it->second.rows[severity - 1];
  for (size_t i = 0; i < row.size(); ++i) out << (i ? "," : "") << row[i];
  return out.str();
}

StatusOr<torch::Tensor> Corrupt(const std::string& name, const torch::Tensor& images, int severity, uint64_t seed) {
  auto it = Tables().find(name);
  if (it == Tables().end()) {
    std::string all;
    for (const std::string& n : AllCorruptionNames()) all += (all.empty() ? "" : ", ") + n;
    return InvalidArgumentError("unknown corruption '" + name + "' (known: " + all + ")");
  }
  if (severity < 1 || severity > 5)
    return InvalidArgumentError("corruption severity " + std::to_string(severity) + " out of range 1..5");
  if (name == "frost")
    return InvalidArgumentError(
        "frost cannot be generated: it blends Hendrycks' frost photographs, which are not bundled; "
        "set eval.corruptions_root to the CIFAR-10-C folder (frost.npy) or leave frost out");
  if (images.dim() != 4 || (images.size(1) != 1 && images.size(1) != 3))
    return InvalidArgumentError("corruptions need float images [N, C, H, W] with C = 1 or 3");
  const std::vector<double>& c = it->second.rows[severity - 1];
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(
      SplitMix64(seed ^ SplitMix64(Fnv1a(name) + static_cast<uint64_t>(severity))));
  torch::Tensor x = images.to(torch::kCPU, torch::kFloat).contiguous();
  const int64_t n = x.size(0);
  torch::Tensor y;
  if (name == "gaussian_noise") {
    y = x + torch::randn(x.sizes(), gen, x.options()) * c[0];
  } else if (name == "shot_noise") {
    y = torch::poisson((x * c[0]).to(torch::kDouble), gen).to(torch::kFloat) / c[0];
  } else if (name == "impulse_noise") {  // skimage random_noise(mode="s&p"), salt_vs_pepper 0.5
    torch::Tensor flip = torch::rand(x.sizes(), gen, x.options()) < c[0];
    torch::Tensor salt = torch::rand(x.sizes(), gen, x.options()) < 0.5;
    y = torch::where(flip, salt.to(torch::kFloat), x);
  } else if (name == "speckle_noise") {
    y = x + x * torch::randn(x.sizes(), gen, x.options()) * c[0];
  } else if (name == "defocus_blur") {
    y = DefocusBlur(x, c);
  } else if (name == "glass_blur") {
    y = GlassBlur(x, c, gen);
  } else if (name == "motion_blur") {
    y = ops::QuantiseRound(ops::MotionBlur(ops::QuantiseRound(x), c[0], c[1], UniformVector(n, -45, 45, gen)));
  } else if (name == "zoom_blur") {
    torch::Tensor acc = x.clone();
    for (int i = 0; i < static_cast<int>(c[0]); ++i) acc += ops::ClippedZoom(x, 1.0 + 0.01 * i);
    y = acc / (c[0] + 1);
  } else if (name == "gaussian_blur") {
    y = ops::GaussianBlur(x, c[0]);
  } else if (name == "snow") {
    y = Snow(x, c, gen);
  } else if (name == "fog") {
    y = Fog(x, c, gen);
  } else if (name == "brightness" || name == "saturate") {
    y = OnRgb(x, [&](const torch::Tensor& rgb) {
      torch::Tensor hsv = ops::RgbToHsv(rgb.to(torch::kDouble));
      if (name == "brightness") {
        hsv.select(1, 2).add_(c[0]).clamp_(0, 1);
      } else {
        hsv.select(1, 1).mul_(c[0]).add_(c[1]).clamp_(0, 1);
      }
      return ops::HsvToRgb(hsv).to(torch::kFloat);
    });
  } else if (name == "contrast") {
    torch::Tensor means = x.mean({2, 3}, /*keepdim=*/true);
    y = (x - means) * c[0] + means;
  } else if (name == "elastic_transform") {
    y = ElasticTransform(x, c, gen);
  } else if (name == "pixelate") {
    y = Pixelate(x, c[0]);
  } else if (name == "jpeg_compression") {
    y = ops::JpegRoundTrip(ops::QuantiseRound(x), static_cast<int>(c[0]));
  } else if (name == "spatter") {
    y = Spatter(x, c, gen);
  }
  return ops::QuantiseTrunc(y.to(torch::kFloat).clamp(0, 1));
}

}  // namespace lcsweep::eval
