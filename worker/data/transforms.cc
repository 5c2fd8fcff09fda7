#include "worker/data/transforms.h"

#include <algorithm>
#include <cmath>

namespace lcsweep::data {
namespace {

struct AxisWeights {
  std::vector<int64_t> start;       // first source index per output index
  std::vector<int64_t> count;       // taps per output index
  std::vector<float> weights;       // count[i] weights at offset i * max_taps
  int64_t max_taps = 0;
};

// Triangle filter weights (PIL's ImagingResample, bilinear) for mapping the
// source interval [begin, begin + length) onto `out` samples.
AxisWeights ComputeAxis(double begin, double length, int64_t in_size, int64_t out) {
  AxisWeights a;
  const double scale = length / static_cast<double>(out);
  const double support = scale > 1.0 ? scale : 1.0;  // filter radius in source pixels
  a.max_taps = static_cast<int64_t>(std::ceil(support)) * 2 + 2;
  a.start.resize(out);
  a.count.resize(out);
  a.weights.assign(static_cast<size_t>(out * a.max_taps), 0.f);
  for (int64_t i = 0; i < out; ++i) {
    const double center = begin + (static_cast<double>(i) + 0.5) * scale;
    int64_t lo = static_cast<int64_t>(std::floor(center - support + 0.5));
    int64_t hi = static_cast<int64_t>(std::floor(center + support + 0.5));
    lo = std::max<int64_t>(lo, 0);
    hi = std::min<int64_t>(hi, in_size);
    double total = 0;
    std::vector<double> w;
    for (int64_t j = lo; j < hi; ++j) {
      const double x = (static_cast<double>(j) - center + 0.5) / support;
      const double t = std::max(0.0, 1.0 - std::fabs(x));
      w.push_back(t);
      total += t;
    }
    if (total <= 0) {  // degenerate box: nearest pixel
      lo = std::clamp<int64_t>(static_cast<int64_t>(center), 0, in_size - 1);
      w.assign(1, 1.0);
      total = 1.0;
    }
    const int64_t n = std::min<int64_t>(static_cast<int64_t>(w.size()), a.max_taps);
    a.start[i] = lo;
    a.count[i] = n;
    for (int64_t k = 0; k < n; ++k) a.weights[i * a.max_taps + k] = static_cast<float>(w[k] / total);
  }
  return a;
}

}  // namespace

PadCropDraw DrawPadCropFlip(int64_t pad, SplitMix64& rng) {
  PadCropDraw d;
  d.dy = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(2 * pad + 1))) - pad;
  d.dx = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(2 * pad + 1))) - pad;
  d.flip = rng.Below(2) == 1;
  return d;
}

void PadCropFlip(const PixelView& src, int64_t pad, SplitMix64& rng, float* out) {
  const int64_t h = src.height, w = src.width;
  const PadCropDraw draw = DrawPadCropFlip(pad, rng);
  const int64_t dy = draw.dy, dx = draw.dx;
  const bool flip = draw.flip;
  constexpr float kInv = 1.0f / 255.0f;
  for (int64_t c = 0; c < src.channels; ++c) {
    for (int64_t y = 0; y < h; ++y) {
      const int64_t sy = y + dy;
      float* row = out + (c * h + y) * w;
      if (sy < 0 || sy >= h) {
        std::fill(row, row + w, 0.f);
        continue;
      }
      const uint8_t* srow = src.data + c * src.c_stride + sy * src.y_stride;
      for (int64_t x = 0; x < w; ++x) {
        const int64_t ox = flip ? w - 1 - x : x;  // flip applies after the crop
        const int64_t sx = ox + dx;
        row[x] = (sx < 0 || sx >= w) ? 0.f : srow[sx * src.x_stride] * kInv;
      }
    }
  }
}

void ToFloat(const PixelView& src, float* out) {
  constexpr float kInv = 1.0f / 255.0f;
  for (int64_t c = 0; c < src.channels; ++c)
    for (int64_t y = 0; y < src.height; ++y)
      for (int64_t x = 0; x < src.width; ++x)
        *out++ = src.data[c * src.c_stride + y * src.y_stride + x * src.x_stride] * kInv;
}

void ResampleBox(const PixelView& src, double x0, double y0, double w, double h, int64_t out_h,
                 int64_t out_w, bool flip, float* out) {
  const AxisWeights ax = ComputeAxis(x0, w, src.width, out_w);
  const AxisWeights ay = ComputeAxis(y0, h, src.height, out_h);
  // Rows needed by the vertical pass.
  int64_t row_lo = src.height, row_hi = 0;
  for (int64_t i = 0; i < out_h; ++i) {
    row_lo = std::min(row_lo, ay.start[i]);
    row_hi = std::max(row_hi, ay.start[i] + ay.count[i]);
  }
  std::vector<float> tmp(static_cast<size_t>(std::max<int64_t>(row_hi - row_lo, 0) * out_w));
  constexpr float kInv = 1.0f / 255.0f;
  for (int64_t c = 0; c < src.channels; ++c) {
    const uint8_t* plane = src.data + c * src.c_stride;
    for (int64_t y = row_lo; y < row_hi; ++y) {  // horizontal pass
      const uint8_t* row = plane + y * src.y_stride;
      float* t = &tmp[static_cast<size_t>((y - row_lo) * out_w)];
      for (int64_t i = 0; i < out_w; ++i) {
        const float* wt = &ax.weights[i * ax.max_taps];
        const int64_t s = ax.start[i];
        float acc = 0;
        for (int64_t k = 0; k < ax.count[i]; ++k) acc += wt[k] * row[(s + k) * src.x_stride];
        t[flip ? out_w - 1 - i : i] = acc;
      }
    }
    float* o = out + c * out_h * out_w;
    for (int64_t j = 0; j < out_h; ++j) {  // vertical pass
      const float* wt = &ay.weights[j * ay.max_taps];
      for (int64_t i = 0; i < out_w; ++i) {
        float acc = 0;
        for (int64_t k = 0; k < ay.count[j]; ++k)
          acc += wt[k] * tmp[static_cast<size_t>((ay.start[j] + k - row_lo) * out_w + i)];
        o[j * out_w + i] = std::clamp(acc * kInv, 0.f, 1.f);
      }
    }
  }
}

CropBox RandomResizedCropBox(int64_t height, int64_t width, SplitMix64& rng) {
  const double area = static_cast<double>(height) * static_cast<double>(width);
  const double log_lo = std::log(3.0 / 4.0), log_hi = std::log(4.0 / 3.0);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target = area * (0.08 + (1.0 - 0.08) * rng.Uniform());
    const double ratio = std::exp(log_lo + (log_hi - log_lo) * rng.Uniform());
    const int64_t w = std::lround(std::sqrt(target * ratio));
    const int64_t h = std::lround(std::sqrt(target / ratio));
    if (w > 0 && h > 0 && w <= width && h <= height) {
      const int64_t y = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(height - h + 1)));
      const int64_t x = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(width - w + 1)));
      return {static_cast<double>(x), static_cast<double>(y), static_cast<double>(w), static_cast<double>(h)};
    }
  }
  const double in_ratio = static_cast<double>(width) / static_cast<double>(height);
  double w, h;
  if (in_ratio < 3.0 / 4.0) {
    w = width;
    h = std::round(w / (3.0 / 4.0));
  } else if (in_ratio > 4.0 / 3.0) {
    h = height;
    w = std::round(h * (4.0 / 3.0));
  } else {
    w = width;
    h = height;
  }
  return {std::floor((width - w) / 2), std::floor((height - h) / 2), w, h};
}

CropBox CenterCropBox(int64_t height, int64_t width, int64_t size) {
  const double resize_to = std::round(static_cast<double>(size) / 0.875);
  const double shorter = static_cast<double>(std::min(height, width));
  const double side = std::min(shorter, static_cast<double>(size) * shorter / resize_to);
  return {(static_cast<double>(width) - side) / 2, (static_cast<double>(height) - side) / 2, side, side};
}

}  // namespace lcsweep::data
