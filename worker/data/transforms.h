// Per-image transforms of docs/method.md section 5, on raw pixel buffers so loader
// threads never touch LibTorch. Outputs are float in [0, 1]; per-channel
// normalisation is inside the model (worker/nn/network.h).
// Thread-safety: pure functions; Resampler is immutable after construction.
#pragma once

#include <cstdint>
#include <vector>

#include "worker/data/rng.h"

namespace lcsweep::data {

// A pixel buffer: value(c, y, x) = data[c * c_stride + y * y_stride + x * x_stride].
struct PixelView {
  const uint8_t* data = nullptr;
  int64_t channels = 0, height = 0, width = 0;
  int64_t c_stride = 0, y_stride = 0, x_stride = 0;
  static PixelView Chw(const uint8_t* d, int64_t c, int64_t h, int64_t w) {
    return {d, c, h, w, h * w, w, 1};
  }
  static PixelView Hwc(const uint8_t* d, int64_t c, int64_t h, int64_t w) {
    return {d, c, h, w, 1, w * c, c};
  }
};

// CIFAR training augmentation: zero-pad by `pad`, take a random crop of the
// original size, flip horizontally with probability 1/2. Out: float [C, H, W].
// Draws exactly three numbers from rng (DrawPadCropFlip).
void PadCropFlip(const PixelView& src, int64_t pad, SplitMix64& rng, float* out);

// The random part of PadCropFlip: output pixel (y, x) reads source pixel
// (y + dy, (flip ? W - 1 - x : x) + dx), zero outside the image; dy, dx in
// [-pad, pad]. The device loader (device_loader.h) applies the same draws.
struct PadCropDraw {
  int64_t dy = 0, dx = 0;
  bool flip = false;
};
PadCropDraw DrawPadCropFlip(int64_t pad, SplitMix64& rng);

// Plain conversion to float [C, H, W] / 255.
void ToFloat(const PixelView& src, float* out);

// Separable triangle-filter resampling of the box [x0, x0 + w) x [y0, y0 + h)
// of `src` (source pixel units) to out_h x out_w. When upscaling this is
// bilinear interpolation with half-pixel centres (PyTorch's
// interpolate(mode="bilinear", align_corners=false)); when downscaling the
// filter widens with the scale (antialiasing, as PIL and torchvision do).
// Out: float [C, out_h, out_w] in [0, 1]; optionally mirrored horizontally.
void ResampleBox(const PixelView& src, double x0, double y0, double w, double h, int64_t out_h,
                 int64_t out_w, bool flip, float* out);

// torchvision RandomResizedCrop(scale=(0.08, 1), ratio=(3/4, 4/3)) box
// selection (10 tries, then a centre crop clamped to the ratio range).
struct CropBox {
  double x0, y0, w, h;
};
CropBox RandomResizedCropBox(int64_t height, int64_t width, SplitMix64& rng);
// Evaluation box: resize the shorter side to round(size / 0.875), centre crop `size`,
// expressed as a box in source pixels.
CropBox CenterCropBox(int64_t height, int64_t width, int64_t size);

}  // namespace lcsweep::data
