// Common corruptions of CIFAR-10-C (Hendrycks & Dietterich, ICLR 2019),
// generated on the fly on float [N,C,H,W] images in [0,1] (C = 1 or 3).
//
// Every corruption follows make_cifar_c.py (hendrycks/robustness) with its
// CIFAR severity table, listed in kCorruptionTables in corruptions.cc; the
// library routines it calls (skimage, scipy, OpenCV, PIL, ImageMagick,
// libjpeg) are re-implemented in corruption_ops.h. Outputs are stored as
// 8-bit values, as the published .npy files are (np.uint8 truncation).
// Randomness comes from a torch CPU generator seeded from (seed, corruption,
// severity), so results are deterministic for a seed but are not the
// published images (numpy's stream cannot be reproduced). Known deviations:
// - frost: needs the frost texture photographs shipped with the original
//   code; it is NOT generated (IsGenerated() is false): use the published
//   frost.npy via corruptions_root.
// - motion_blur/snow: ImageMagick's MotionBlurImage re-implemented (one-sided
//   Gaussian line kernel); sub-pixel details of ImageMagick may differ.
// - jpeg_compression: the lossy stages of libjpeg (float DCT instead of the
//   integer islow DCT; entropy coding is lossless and skipped).
// - spatter (severities 1-3): cv2.distanceTransform(DIST_L2, 5) is computed
//   exactly instead of with OpenCV's 5x5 mask approximation.
// - 1-channel images: colour corruptions (brightness, saturate, snow's grey
//   blend, spatter, jpeg) run on the grey image replicated to RGB and return
//   the ITU-R 601 luma; for brightness this equals the grey original's HSV.
// Thread-safety: pure functions.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace lcsweep::eval {

// The 19 corruptions of docs/method.md section 6, in its order.
const std::vector<std::string>& AllCorruptionNames();
// Names that can be generated here (all but frost).
bool IsGenerated(const std::string& name);
// The severity table entry for (name, severity 1..5) as text, e.g.
// "sigma=0.08" - what the code uses, for results and documentation.
StatusOr<std::string> SeverityParameters(const std::string& name, int severity);

// Corrupted copy of `images` (float [N,C,H,W] in [0,1], CPU). Errors:
// INVALID_ARGUMENT for an unknown name, a severity outside 1..5, a channel
// count other than 1 or 3, or frost (not generated).
StatusOr<torch::Tensor> Corrupt(const std::string& name, const torch::Tensor& images, int severity,
                                uint64_t seed);

}  // namespace lcsweep::eval
