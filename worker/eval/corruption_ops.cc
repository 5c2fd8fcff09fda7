#include "worker/eval/corruption_ops.h"

#include <algorithm>
#include <cmath>
#include <deque>

namespace lcsweep::eval::ops {
namespace {

constexpr double kPi = 3.14159265358979323846;

torch::Tensor MapIndexTensor(const torch::Tensor& i, int64_t n, Boundary b) {
  switch (b) {
    case Boundary::kNearest:
      return i.clamp(0, n - 1);
    case Boundary::kReflect: {
      torch::Tensor m = torch::remainder(i, 2 * n);
      return torch::where(m >= n, 2 * n - 1 - m, m);
    }
    case Boundary::kReflect101: {
      if (n == 1) return torch::zeros_like(i);
      torch::Tensor m = torch::remainder(i, 2 * n - 2);
      return torch::where(m >= n, 2 * n - 2 - m, m);
    }
  }
  return i;
}

// Pads dim `dim` of x by r on both sides with the boundary rule.
torch::Tensor PadDim(const torch::Tensor& x, int64_t dim, int64_t r, Boundary b) {
  if (r == 0) return x;
  const int64_t n = x.size(dim);
  torch::Tensor idx = MapIndexTensor(torch::arange(-r, n + r, torch::kLong), n, b);
  return x.index_select(dim, idx);
}

}  // namespace

int64_t MapIndex(int64_t i, int64_t n, Boundary b) {
  return MapIndexTensor(torch::tensor({i}, torch::kLong), n, b).item<int64_t>();
}

std::vector<double> GaussianKernel(double sigma, double truncate) {
  if (sigma <= 0) return {1.0};
  const int64_t r = static_cast<int64_t>(truncate * sigma + 0.5);
  std::vector<double> k(2 * r + 1);
  double sum = 0;
  for (int64_t i = -r; i <= r; ++i) sum += k[i + r] = std::exp(-0.5 * i * i / (sigma * sigma));
  for (double& v : k) v /= sum;
  return k;
}

torch::Tensor SeparableFilter(const torch::Tensor& x, const std::vector<double>& kernel, Boundary b) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const int64_t r = static_cast<int64_t>(kernel.size()) / 2;
  torch::Tensor k = torch::tensor(kernel, torch::kDouble).to(x.scalar_type());
  torch::Tensor y = x.reshape({n * c, 1, h, w});
  y = torch::conv2d(PadDim(y, 2, r, b), k.view({1, 1, -1, 1}));
  y = torch::conv2d(PadDim(y, 3, r, b), k.view({1, 1, 1, -1}));
  return y.reshape({n, c, h, w});
}

torch::Tensor GaussianBlur(const torch::Tensor& x, double sigma, Boundary b, double truncate) {
  return SeparableFilter(x, GaussianKernel(sigma, truncate), b);
}

torch::Tensor Filter2D(const torch::Tensor& x, const torch::Tensor& kernel, Boundary b) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const int64_t r = kernel.size(0) / 2;
  torch::Tensor y = PadDim(PadDim(x.reshape({n * c, 1, h, w}), 2, r, b), 3, r, b);
  y = torch::conv2d(y, kernel.to(x.scalar_type()).view({1, 1, kernel.size(0), kernel.size(1)}));
  return y.reshape({n, c, h, w});
}

torch::Tensor BilinearSample(const torch::Tensor& x, const torch::Tensor& ys, const torch::Tensor& xs, Boundary b) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const int64_t ho = ys.size(1), wo = ys.size(2);
  torch::Tensor y0f = ys.floor(), x0f = xs.floor();
  torch::Tensor wy = (ys - y0f).to(x.scalar_type()).view({n, 1, ho * wo});
  torch::Tensor wx = (xs - x0f).to(x.scalar_type()).view({n, 1, ho * wo});
  torch::Tensor y0 = y0f.to(torch::kLong), x0 = x0f.to(torch::kLong);
  torch::Tensor flat = x.reshape({n, c, h * w});
  auto at = [&](const torch::Tensor& yi, const torch::Tensor& xi) {
    torch::Tensor lin = (MapIndexTensor(yi, h, b) * w + MapIndexTensor(xi, w, b)).view({n, 1, ho * wo});
    return flat.gather(2, lin.expand({n, c, ho * wo}));
  };
  torch::Tensor out = at(y0, x0) * (1 - wy) * (1 - wx) + at(y0, x0 + 1) * (1 - wy) * wx +
                      at(y0 + 1, x0) * wy * (1 - wx) + at(y0 + 1, x0 + 1) * wy * wx;
  return out.view({n, c, ho, wo});
}

torch::Tensor ClippedZoomMatrix(int64_t n, double zoom) {
  const int64_t ch = static_cast<int64_t>(std::ceil(n / zoom));
  const int64_t top = (n - ch) / 2;
  const int64_t out = static_cast<int64_t>(std::nearbyint(ch * zoom));  // Python round()
  const int64_t trim = (out - n) / 2;
  torch::Tensor a = torch::zeros({n, n}, torch::kDouble);
  auto acc = a.accessor<double, 2>();
  for (int64_t o = 0; o < n; ++o) {
    const double q = static_cast<double>(o + trim);
    double c = out > 1 ? q * (ch - 1) / static_cast<double>(out - 1) : 0.0;
    c = std::min(std::max(c, 0.0), static_cast<double>(ch - 1));
    const int64_t i0 = static_cast<int64_t>(std::floor(c));
    const double f = c - i0;
    acc[o][top + i0] += 1 - f;
    if (f > 0) acc[o][top + std::min(i0 + 1, ch - 1)] += f;
  }
  return a;
}

torch::Tensor ClippedZoom(const torch::Tensor& x, double zoom) {
  torch::Tensor ah = ClippedZoomMatrix(x.size(2), zoom).to(x.scalar_type());
  torch::Tensor aw = ClippedZoomMatrix(x.size(3), zoom).to(x.scalar_type());
  return torch::matmul(torch::matmul(ah, x), aw.t());
}

torch::Tensor PilBoxMatrix(int64_t in_size, int64_t out_size) {
  // Pillow's precompute_coeffs with box_filter (support 0.5).
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = 0.5 * filterscale;
  torch::Tensor m = torch::zeros({out_size, in_size}, torch::kDouble);
  auto acc = m.accessor<double, 2>();
  for (int64_t xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    int64_t xmin = std::max<int64_t>(static_cast<int64_t>(center - support + 0.5), 0);
    int64_t xmax = std::min<int64_t>(static_cast<int64_t>(center + support + 0.5), in_size) - xmin;
    double ww = 0;
    std::vector<double> k(std::max<int64_t>(xmax, 0));
    for (int64_t x = 0; x < xmax; ++x) {
      const double t = (x + xmin - center + 0.5) / filterscale;
      ww += k[x] = (t > -0.5 && t <= 0.5) ? 1.0 : 0.0;
    }
    for (int64_t x = 0; x < xmax; ++x) acc[xx][xmin + x] = ww != 0 ? k[x] / ww : 0;
  }
  return m;
}

torch::Tensor RgbToHsv(const torch::Tensor& rgb) {
  torch::Tensor r = rgb.select(1, 0), g = rgb.select(1, 1), b = rgb.select(1, 2);
  torch::Tensor v = std::get<0>(rgb.max(1));
  torch::Tensor delta = v - std::get<0>(rgb.min(1));
  torch::Tensor safe_delta = torch::where(delta == 0, torch::ones_like(delta), delta);
  torch::Tensor s = torch::where(v == 0, torch::zeros_like(v), delta / torch::where(v == 0, torch::ones_like(v), v));
  // skimage assigns r, then g, then b: the last matching channel wins.
  torch::Tensor h = torch::zeros_like(v);
  h = torch::where(r == v, (g - b) / safe_delta, h);
  h = torch::where(g == v, 2.0 + (b - r) / safe_delta, h);
  h = torch::where(b == v, 4.0 + (r - g) / safe_delta, h);
  h = torch::remainder(h / 6.0, 1.0);
  h = torch::where(delta == 0, torch::zeros_like(h), h);
  return torch::stack({h, s, v}, 1);
}

torch::Tensor HsvToRgb(const torch::Tensor& hsv) {
  torch::Tensor h = hsv.select(1, 0), s = hsv.select(1, 1), v = hsv.select(1, 2);
  torch::Tensor hi = torch::floor(h * 6);
  torch::Tensor f = h * 6 - hi;
  torch::Tensor p = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s);
  hi = torch::remainder(hi, 6).to(torch::kLong);
  torch::Tensor r = torch::zeros_like(v), g = torch::zeros_like(v), b = torch::zeros_like(v);
  const torch::Tensor* table[6][3] = {{&v, &t, &p}, {&q, &v, &p}, {&p, &v, &t},
                                      {&p, &q, &v}, {&t, &p, &v}, {&v, &p, &q}};
  for (int k = 0; k < 6; ++k) {
    torch::Tensor m = hi == k;
    r = torch::where(m, *table[k][0], r);
    g = torch::where(m, *table[k][1], g);
    b = torch::where(m, *table[k][2], b);
  }
  return torch::stack({r, g, b}, 1);
}

torch::Tensor MotionBlur(const torch::Tensor& x, double radius, double sigma, const std::vector<double>& angles) {
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  const int64_t width = 2 * static_cast<int64_t>(std::ceil(radius)) + 1;
  std::vector<double> k(width);
  double sum = 0;
  for (int64_t i = 0; i < width; ++i) sum += k[i] = std::exp(-static_cast<double>(i * i) / (2 * sigma * sigma));
  torch::Tensor out = torch::zeros_like(x);
  torch::Tensor rows = torch::arange(h, torch::kLong), cols = torch::arange(w, torch::kLong);
  for (int64_t img = 0; img < n; ++img) {
    const double a = angles[img] * kPi / 180.0;
    torch::Tensor src = x[img];
    torch::Tensor acc = out[img];
    for (int64_t i = 0; i < width; ++i) {
      const int64_t ox = static_cast<int64_t>(std::ceil(i * std::cos(a) - 0.5));
      const int64_t oy = static_cast<int64_t>(std::ceil(i * std::sin(a) - 0.5));
      torch::Tensor shifted = src.index_select(1, (rows + oy).clamp(0, h - 1)).index_select(2, (cols + ox).clamp(0, w - 1));
      acc.add_(shifted, k[i] / sum);
    }
  }
  return out;
}

namespace {

const int kLumaTable[64] = {16, 11, 10, 16, 24,  40,  51,  61,  12, 12, 14, 19, 26,  58,  60,  55,
                            14, 13, 16, 24, 40,  57,  69,  56,  14, 17, 22, 29, 51,  87,  80,  62,
                            18, 22, 37, 56, 68,  109, 103, 77,  24, 35, 55, 64, 81,  104, 113, 92,
                            49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99};
const int kChromaTable[64] = {17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
                              24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
                              99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
                              99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99};

// libjpeg jpeg_quality_scaling + jpeg_add_quant_table with force_baseline.
torch::Tensor QuantTable(const int* base, int quality) {
  quality = std::min(std::max(quality, 1), 100);
  const int scale = quality < 50 ? 5000 / quality : 200 - 2 * quality;
  std::vector<double> q(64);
  for (int i = 0; i < 64; ++i) q[i] = std::min(std::max((base[i] * scale + 50) / 100, 1), 255);
  return torch::tensor(q, torch::kDouble).view({8, 8});
}

torch::Tensor DctMatrix() {
  torch::Tensor d = torch::zeros({8, 8}, torch::kDouble);
  for (int u = 0; u < 8; ++u)
    for (int x = 0; x < 8; ++x)
      d[u][x] = (u == 0 ? std::sqrt(1.0 / 8) : std::sqrt(2.0 / 8)) * std::cos((2 * x + 1) * u * kPi / 16);
  return d;
}

// planes [M, H, W] (0..255, H and W multiples of 8) -> decoded planes.
torch::Tensor DctQuantise(const torch::Tensor& planes, const torch::Tensor& q) {
  const int64_t m = planes.size(0), h = planes.size(1), w = planes.size(2);
  static const torch::Tensor d = DctMatrix();
  torch::Tensor blocks = (planes - 128).view({m, h / 8, 8, w / 8, 8}).permute({0, 1, 3, 2, 4});
  torch::Tensor coef = torch::matmul(torch::matmul(d, blocks), d.t());
  coef = torch::round(coef / q) * q;
  torch::Tensor back = torch::matmul(torch::matmul(d.t(), coef), d) + 128;
  back = torch::round(back).clamp(0, 255);
  return back.permute({0, 1, 3, 2, 4}).reshape({m, h, w});
}

// libjpeg h2v2 "fancy" (triangle) upsampling of [M, h, w] to [M, 2h, 2w].
torch::Tensor FancyUpsample(const torch::Tensor& p) {
  const int64_t h = p.size(1), w = p.size(2);
  torch::Tensor up_rows = PadDim(p, 1, 1, Boundary::kNearest);  // [M, h+2, w]
  torch::Tensor above = 3 * p + up_rows.narrow(1, 0, h), below = 3 * p + up_rows.narrow(1, 2, h);
  torch::Tensor colsum = torch::stack({above, below}, 2).reshape({p.size(0), 2 * h, w});
  torch::Tensor padded = PadDim(colsum, 2, 1, Boundary::kNearest);
  torch::Tensor left = 3 * colsum + padded.narrow(2, 0, w), right = 3 * colsum + padded.narrow(2, 2, w);
  return torch::round(torch::stack({left, right}, 3).reshape({p.size(0), 2 * h, 2 * w}) / 16);
}

}  // namespace

torch::Tensor JpegRoundTrip(const torch::Tensor& x, int quality) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  torch::Tensor px = torch::round(x.to(torch::kDouble) * 255);
  const int64_t mcu = c == 3 ? 16 : 8;
  const int64_t hp = (h + mcu - 1) / mcu * mcu, wp = (w + mcu - 1) / mcu * mcu;
  // libjpeg fills partial MCUs by repeating the last row / column.
  px = px.index_select(2, torch::arange(hp, torch::kLong).clamp_max(h - 1))
           .index_select(3, torch::arange(wp, torch::kLong).clamp_max(w - 1));
  torch::Tensor luma_q = QuantTable(kLumaTable, quality), chroma_q = QuantTable(kChromaTable, quality);
  torch::Tensor out;
  if (c == 1) {
    out = DctQuantise(px.view({n, hp, wp}), luma_q).view({n, 1, hp, wp});
  } else {
    torch::Tensor r = px.select(1, 0), g = px.select(1, 1), b = px.select(1, 2);
    torch::Tensor y = torch::round(0.299 * r + 0.587 * g + 0.114 * b);
    torch::Tensor cb = torch::round(-0.168735892 * r - 0.331264108 * g + 0.5 * b + 128).clamp(0, 255);
    torch::Tensor cr = torch::round(0.5 * r - 0.418687589 * g - 0.081312411 * b + 128).clamp(0, 255);
    auto down = [&](const torch::Tensor& p) {  // 2x2 average (libjpeg h2v2_downsample)
      return torch::floor(p.view({n, hp / 2, 2, wp / 2, 2}).sum({2, 4}) / 4 + 0.5);
    };
    y = DctQuantise(y, luma_q);
    cb = FancyUpsample(DctQuantise(down(cb), chroma_q)) - 128;
    cr = FancyUpsample(DctQuantise(down(cr), chroma_q)) - 128;
    out = torch::stack({y + 1.402 * cr, y - 0.344136286 * cb - 0.714136286 * cr, y + 1.772 * cb}, 1);
    out = torch::round(out).clamp(0, 255);
  }
  return (out.narrow(2, 0, h).narrow(3, 0, w) / 255).to(x.scalar_type());
}

torch::Tensor PlasmaFractal(int64_t mapsize, double wibbledecay, at::Generator& gen) {
  const int64_t m = mapsize;
  std::vector<double> a(m * m, 0.0);
  auto A = [&](int64_t i, int64_t j) -> double& { return a[((i % m + m) % m) * m + ((j % m + m) % m)]; };
  int64_t step = m;
  double wibble = 100;
  auto uniform = [&](int64_t count) {
    torch::Tensor u = torch::rand({count}, gen, torch::kDouble);
    return std::vector<double>(u.data_ptr<double>(), u.data_ptr<double>() + count);
  };
  while (step >= 2) {
    const int64_t g = m / step, half = step / 2;
    // fillsquares: centre = mean of the 4 corners + wibble.
    {
      std::vector<double> u = uniform(g * g);
      std::vector<double> val(g * g);
      for (int64_t i = 0; i < g; ++i)
        for (int64_t j = 0; j < g; ++j)
          val[i * g + j] = (A(i * step, j * step) + A((i + 1) * step, j * step) + A(i * step, (j + 1) * step) +
                            A((i + 1) * step, (j + 1) * step)) / 4 +
                           wibble * (u[i * g + j] * 2 * wibble - wibble);
      for (int64_t i = 0; i < g; ++i)
        for (int64_t j = 0; j < g; ++j) A(i * step + half, j * step + half) = val[i * g + j];
    }
    // filldiamonds (np.roll semantics: roll(x, 1)[i] = x[i-1], roll(x, -1)[i] = x[i+1]).
    {
      std::vector<double> u1 = uniform(g * g);
      std::vector<double> v1(g * g), v2(g * g);
      for (int64_t i = 0; i < g; ++i)
        for (int64_t j = 0; j < g; ++j) {
          const double dr = A(i * step + half, j * step + half);
          const double lt = dr + A((i - 1) * step + half, j * step + half) + A(i * step, j * step) +
                            A(i * step, (j + 1) * step);
          v1[i * g + j] = lt / 4 + wibble * (u1[i * g + j] * 2 * wibble - wibble);
        }
      for (int64_t i = 0; i < g; ++i)
        for (int64_t j = 0; j < g; ++j) A(i * step, j * step + half) = v1[i * g + j];
      std::vector<double> u2 = uniform(g * g);
      for (int64_t i = 0; i < g; ++i)
        for (int64_t j = 0; j < g; ++j) {
          const double dr = A(i * step + half, j * step + half);
          const double tt = dr + A(i * step + half, (j - 1) * step + half) + A(i * step, j * step) +
                            A((i + 1) * step, j * step);
          v2[i * g + j] = tt / 4 + wibble * (u2[i * g + j] * 2 * wibble - wibble);
        }
      for (int64_t i = 0; i < g; ++i)
        for (int64_t j = 0; j < g; ++j) A(i * step + half, j * step) = v2[i * g + j];
    }
    step /= 2;
    wibble /= wibbledecay;
  }
  torch::Tensor t = torch::tensor(a, torch::kDouble).view({m, m});
  t = t - t.min();
  const double mx = t.max().item<double>();
  return mx > 0 ? t / mx : t;
}

torch::Tensor Luma(const torch::Tensor& rgb) {
  return (0.299 * rgb.select(1, 0) + 0.587 * rgb.select(1, 1) + 0.114 * rgb.select(1, 2)).unsqueeze(1);
}

torch::Tensor QuantiseTrunc(const torch::Tensor& x) { return torch::floor(x * 255 + 1e-3).clamp(0, 255) / 255; }
torch::Tensor QuantiseRound(const torch::Tensor& x) { return torch::round(x * 255).clamp(0, 255) / 255; }

torch::Tensor Canny(const torch::Tensor& img, double low, double high) {
  const int64_t h = img.size(0), w = img.size(1);
  torch::Tensor p = img.to(torch::kDouble).view({1, 1, h, w});
  torch::Tensor sx = torch::tensor({-1., 0., 1., -2., 0., 2., -1., 0., 1.}, torch::kDouble).view({3, 3});
  torch::Tensor gx = Filter2D(p, sx, Boundary::kNearest).view({h, w});
  torch::Tensor gy = Filter2D(p, sx.t().contiguous(), Boundary::kNearest).view({h, w});
  torch::Tensor mag = gx.abs() + gy.abs();
  auto M = mag.accessor<double, 2>();
  auto GX = gx.accessor<double, 2>();
  auto GY = gy.accessor<double, 2>();
  auto mg = [&](int64_t i, int64_t j) { return (i < 0 || j < 0 || i >= h || j >= w) ? 0.0 : M[i][j]; };
  const double tan22 = std::tan(22.5 * kPi / 180), tan67 = std::tan(67.5 * kPi / 180);
  std::vector<int> state(h * w, 0);  // 0 none, 1 weak, 2 strong
  for (int64_t i = 0; i < h; ++i)
    for (int64_t j = 0; j < w; ++j) {
      const double m = M[i][j];
      if (m <= low) continue;
      const double ax = std::abs(GX[i][j]), ay = std::abs(GY[i][j]);
      bool is_max;
      if (ay <= ax * tan22) {
        is_max = m > mg(i, j - 1) && m >= mg(i, j + 1);
      } else if (ay > ax * tan67) {
        is_max = m > mg(i - 1, j) && m >= mg(i + 1, j);
      } else {
        const int s = (GX[i][j] * GY[i][j] < 0) ? -1 : 1;
        is_max = m > mg(i - 1, j - s) && m >= mg(i + 1, j + s);
      }
      if (is_max) state[i * w + j] = m > high ? 2 : 1;
    }
  std::deque<int64_t> queue;
  for (int64_t k = 0; k < h * w; ++k)
    if (state[k] == 2) queue.push_back(k);
  while (!queue.empty()) {
    const int64_t k = queue.front();
    queue.pop_front();
    for (int di = -1; di <= 1; ++di)
      for (int dj = -1; dj <= 1; ++dj) {
        const int64_t i = k / w + di, j = k % w + dj;
        if (i < 0 || j < 0 || i >= h || j >= w || state[i * w + j] != 1) continue;
        state[i * w + j] = 2;
        queue.push_back(i * w + j);
      }
  }
  torch::Tensor edges = torch::zeros({h, w}, torch::kDouble);
  for (int64_t k = 0; k < h * w; ++k)
    if (state[k] == 2) edges.view({-1})[k] = 1.0;
  return edges;
}

torch::Tensor DistanceToZero(const torch::Tensor& img) {
  const int64_t h = img.size(0), w = img.size(1);
  torch::Tensor flat = img.reshape({-1});
  torch::Tensor zeros = flat.eq(0).nonzero().view({-1});
  if (zeros.numel() == 0) return torch::full({h, w}, 1e6, torch::kDouble);
  torch::Tensor zy = torch::floor_divide(zeros, w).to(torch::kDouble), zx = torch::remainder(zeros, w).to(torch::kDouble);
  torch::Tensor yy = torch::arange(h, torch::kDouble).view({h, 1, 1}), xx = torch::arange(w, torch::kDouble).view({1, w, 1});
  torch::Tensor d2 = (yy - zy.view({1, 1, -1})).pow(2) + (xx - zx.view({1, 1, -1})).pow(2);
  return std::get<0>(d2.min(2)).sqrt();
}

torch::Tensor EqualizeHist(const torch::Tensor& img) {
  torch::Tensor v = img.to(torch::kLong).clamp(0, 255).reshape({-1});
  torch::Tensor hist = torch::bincount(v, {}, 256);
  auto hs = hist.accessor<int64_t, 1>();
  const int64_t total = v.numel();
  int64_t first = 0;
  while (first < 255 && hs[first] == 0) ++first;
  if (hs[first] == total) return torch::full_like(img, static_cast<double>(first));
  const double scale = 255.0 / (total - hs[first]);
  std::vector<double> lut(256, 0.0);
  int64_t sum = 0;
  for (int64_t j = first + 1; j < 256; ++j) {
    sum += hs[j];
    lut[j] = std::min(255.0, std::max(0.0, std::nearbyint(sum * scale)));
  }
  return torch::tensor(lut, torch::kDouble).index_select(0, v).view(img.sizes()).to(img.scalar_type());
}

}  // namespace lcsweep::eval::ops
