// Transforms against independent LibTorch computations.
#include "worker/data/transforms.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace lcsweep::data {
namespace {

torch::Tensor RandomImage(int64_t c, int64_t h, int64_t w, int64_t seed) {
  torch::manual_seed(seed);
  return torch::randint(0, 256, {c, h, w}, torch::kUInt8);
}

TEST(Resample, UpscaleMatchesTorchBilinear) {
  torch::Tensor img = RandomImage(1, 28, 28, 1);
  std::vector<float> out(32 * 32);
  ResampleBox(PixelView::Chw(img.data_ptr<uint8_t>(), 1, 28, 28), 0, 0, 28, 28, 32, 32, false, out.data());
  torch::Tensor ref = torch::nn::functional::interpolate(
      img.to(torch::kFloat32).unsqueeze(0) / 255.0,
      torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{32, 32})
          .mode(torch::kBilinear).align_corners(false));
  torch::Tensor got = torch::from_blob(out.data(), {1, 1, 32, 32}, torch::kFloat32);
  EXPECT_LT((got - ref).abs().max().item<float>(), 1e-5);
}

TEST(Resample, HwcAndFlipAgree) {
  torch::Tensor chw = RandomImage(3, 20, 30, 2);
  torch::Tensor hwc = chw.permute({1, 2, 0}).contiguous();
  std::vector<float> a(3 * 16 * 16), b(3 * 16 * 16);
  ResampleBox(PixelView::Chw(chw.data_ptr<uint8_t>(), 3, 20, 30), 2, 1, 25, 17, 16, 16, false, a.data());
  ResampleBox(PixelView::Hwc(hwc.data_ptr<uint8_t>(), 3, 20, 30), 2, 1, 25, 17, 16, 16, true, b.data());
  torch::Tensor ta = torch::from_blob(a.data(), {3, 16, 16});
  torch::Tensor tb = torch::from_blob(b.data(), {3, 16, 16});
  EXPECT_TRUE(torch::allclose(ta, tb.flip({2})));
}

TEST(Resample, DownscaleAveragesLikeAreaForIntegerFactors) {
  // A 2x antialiased triangle filter with support 2 has weights 1/8,3/8,3/8,1/8;
  // on a constant image any normalised filter gives the constant back.
  torch::Tensor img = torch::full({1, 64, 64}, 200, torch::kUInt8);
  std::vector<float> out(32 * 32);
  ResampleBox(PixelView::Chw(img.data_ptr<uint8_t>(), 1, 64, 64), 0, 0, 64, 64, 32, 32, false, out.data());
  for (float v : out) ASSERT_NEAR(v, 200 / 255.0, 1e-6);
}

TEST(PadCropFlip, MatchesTorchPadSliceFlip) {
  torch::Tensor img = RandomImage(3, 32, 32, 3);
  for (uint64_t seed = 0; seed < 40; ++seed) {
    SplitMix64 rng(seed), replay(seed);
    std::vector<float> out(3 * 32 * 32);
    PadCropFlip(PixelView::Chw(img.data_ptr<uint8_t>(), 3, 32, 32), 4, rng, out.data());
    const int64_t dy = static_cast<int64_t>(replay.Below(9)), dx = static_cast<int64_t>(replay.Below(9));
    const bool flip = replay.Below(2) == 1;
    torch::Tensor padded = torch::constant_pad_nd(img.to(torch::kFloat32) / 255.0, {4, 4, 4, 4}, 0);
    torch::Tensor ref = padded.slice(1, dy, dy + 32).slice(2, dx, dx + 32);
    if (flip) ref = ref.flip({2});
    torch::Tensor got = torch::from_blob(out.data(), {3, 32, 32});
    ASSERT_TRUE(torch::allclose(got, ref)) << "seed " << seed;
  }
}

TEST(CropBoxes, CenterAndRandomStayInside) {
  const CropBox c = CenterCropBox(300, 400, 224);
  EXPECT_NEAR(c.w, 224.0 * 300 / 256, 1e-9);
  EXPECT_NEAR(c.x0 + c.w / 2, 200, 1e-9);
  EXPECT_NEAR(c.y0 + c.h / 2, 150, 1e-9);
  SplitMix64 rng(5);
  for (int i = 0; i < 200; ++i) {
    const CropBox b = RandomResizedCropBox(100, 150, rng);
    ASSERT_GE(b.x0, 0);
    ASSERT_GE(b.y0, 0);
    ASSERT_LE(b.x0 + b.w, 150);
    ASSERT_LE(b.y0 + b.h, 100);
    ASSERT_GE(b.w * b.h, 0.07 * 100 * 150);
  }
}

}  // namespace
}  // namespace lcsweep::data
