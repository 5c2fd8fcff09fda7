// Image operations the corruptions are built from, on float [N,C,H,W] tensors
// (CPU). Each one re-implements the library routine that Hendrycks &
// Dietterich's make_cifar_c.py calls (skimage, scipy.ndimage, OpenCV, PIL,
// ImageMagick, libjpeg), named in its comment, so the corruption code reads
// like the original. Pure functions; thread-safe.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace lcsweep::eval::ops {

// How a filter sees pixels beyond the edge.
enum class Boundary {
  kNearest,     // a a a | a b c d | d d d   (skimage.filters.gaussian default, IM edge)
  kReflect,     // c b a | a b c d | d c b   (scipy / skimage mode="reflect")
  kReflect101,  //   c b | a b c d | c b     (OpenCV BORDER_REFLECT_101, the default)
};

// Index of source sample for position i (may lie outside [0, n)).
int64_t MapIndex(int64_t i, int64_t n, Boundary b);

// skimage.filters.gaussian kernel: radius int(truncate * sigma + 0.5).
std::vector<double> GaussianKernel(double sigma, double truncate = 4.0);
// Separable filtering with the same 1-D kernel along H and W.
torch::Tensor SeparableFilter(const torch::Tensor& x, const std::vector<double>& kernel, Boundary b);
// skimage.filters.gaussian(x, sigma, mode, truncate), per channel.
torch::Tensor GaussianBlur(const torch::Tensor& x, double sigma, Boundary b = Boundary::kNearest,
                           double truncate = 4.0);
// cv2.filter2D (correlation) with a square odd kernel [K, K], per channel.
torch::Tensor Filter2D(const torch::Tensor& x, const torch::Tensor& kernel, Boundary b);

// Bilinear sampling at per-image source coordinates ys, xs ([N, H, W] each),
// the integer neighbours mapped by `b` (scipy map_coordinates order=1 / cv2
// INTER_LINEAR).
torch::Tensor BilinearSample(const torch::Tensor& x, const torch::Tensor& ys, const torch::Tensor& xs, Boundary b);

// Matrix [out, in] of 1-D linear interpolation used by make_cifar_c.py's
// clipped_zoom (scipy.ndimage.zoom order=1 of the centre crop, trimmed).
torch::Tensor ClippedZoomMatrix(int64_t n, double zoom);
// clipped_zoom on [N,C,H,W]: A_h * x * A_w^T.
torch::Tensor ClippedZoom(const torch::Tensor& x, double zoom);

// PIL Image.resize(..., BOX) resampling matrix [out, in] along one axis.
torch::Tensor PilBoxMatrix(int64_t in_size, int64_t out_size);

// skimage.color.rgb2hsv / hsv2rgb on [N,3,H,W] (H, S, V in [0,1]).
torch::Tensor RgbToHsv(const torch::Tensor& rgb);
torch::Tensor HsvToRgb(const torch::Tensor& hsv);

// ImageMagick MotionBlurImage(radius, sigma, angle): one-sided Gaussian of
// width 2*ceil(radius)+1 along the angle, edge pixels repeated. One angle
// (degrees) per image.
torch::Tensor MotionBlur(const torch::Tensor& x, double radius, double sigma, const std::vector<double>& angles);

// Lossy stages of baseline JPEG at a PIL/libjpeg quality: YCbCr, 4:2:0
// chroma subsampling (colour only), 8x8 DCT quantised with the IJG tables
// scaled by quality, fancy upsampling, back to RGB, 8-bit rounding.
torch::Tensor JpegRoundTrip(const torch::Tensor& x, int quality);

// make_cifar_c.py plasma_fractal(mapsize, wibbledecay) with uniform draws from `gen`.
torch::Tensor PlasmaFractal(int64_t mapsize, double wibbledecay, at::Generator& gen);

// cv2.cvtColor(RGB2GRAY) weights; [N,1,H,W].
torch::Tensor Luma(const torch::Tensor& rgb);

// Store as 8-bit like np.uint8(float * 255) (truncation) and back to [0,1].
// A tiny epsilon keeps exact values k/255 from falling to k-1 by rounding.
torch::Tensor QuantiseTrunc(const torch::Tensor& x);
// 8-bit rounding as PIL / libjpeg / ImageMagick do.
torch::Tensor QuantiseRound(const torch::Tensor& x);

// Canny edge map (cv2.Canny, 3x3 Sobel, L1 magnitude, non-maximum
// suppression, hysteresis) of one 8-bit image [H, W] (values 0..255); 1 = edge.
torch::Tensor Canny(const torch::Tensor& img, double low, double high);
// Exact Euclidean distance of every pixel to the nearest zero pixel ([H, W]).
torch::Tensor DistanceToZero(const torch::Tensor& img);
// cv2.equalizeHist of one 8-bit image [H, W] (values 0..255, float tensor).
torch::Tensor EqualizeHist(const torch::Tensor& img);

}  // namespace lcsweep::eval::ops
