// LcConv2d: one spatial (k x k) convolution of a network in any of the
// paper's conv modes (PAPER.md section 1):
//   learned   plain Conv2d(c_in, c_out, k), trained          -> "weight" (parameter)
//   frozen    plain Conv2d kept at its random init            -> "weight" (buffer)
//   lc        S = Conv2d(c_in, c_out*E, k) then P = Conv2d(c_out*E, c_out, 1)
//             -> "spatial.weight" (buffer when frozen, parameter when learned),
//                "lc.weight" (parameter), "mid_bn.*" for the bn/bn_relu ops
// Stride s, padding k/2, no bias. Names follow a PyTorch port where the LC
// block is a module with children `spatial` and `lc` (nn.Conv2d each) and an
// optional `mid_bn` (nn.BatchNorm2d(c_out*E)) between them.
//
// Execution (lc mode): folded composes W = P . S (an [c_out, c_out*E] x
// [c_out*E, c_in*k*k] matrix product) every forward and runs one conv;
// autograd carries the gradient to P (and to S when learned). Unfolded runs
// the two convs (the reference, and the only option with an intermediate op).
// `auto` picks the cheaper for training by the MAC model below.
//
// Frozen filters are a pure function of (seed, layer_index, shape, init)
// drawn from CounterRng on the CPU; learned tensors use it as well, so a model
// is bitwise reproducible across machines and LibTorch versions.
//
// Sharing (PAPER.md section 3): with share_group >= 0, the layer owns no
// spatial tensor; the network attaches a tensor T (AttachShared) and the layer
// uses S = scale * T[:c_out*E, :c_in] with scale = 1/sqrt(c_in*k*k). Only for
// frozen spatial filters (a shared learned T is not supported).
//
// Thread-safety: like any torch::nn::Module.
#pragma once

#include <torch/torch.h>

#include <string>

#include "common/job_config.h"
#include "common/status.h"
#include "worker/nn/init.h"

namespace lcsweep::nn {

struct LcConv2dOptions {
  int64_t in_channels = 1;
  int64_t out_channels = 1;
  int64_t kernel_size = 3;
  int64_t stride = 1;
  ConvConfig conv;           // mode, lc_rate, spatial, init, intermediate, execution (strings)
  uint64_t seed = 0;
  int64_t layer_index = 0;   // position among the network's spatial layers: the RNG key
  int64_t input_size = 32;   // side of the input feature map: MAC model and `auto`
  int64_t batch_size = 256;  // images per step: amortises the fold in the MAC model
  int64_t share_group = -1;  // >= 0: S comes from the network's shared tensor of this group
};

// Checks the options; INVALID_ARGUMENT says which field is wrong and how to fix it.
Status ValidateLcConv2dOptions(const LcConv2dOptions& options);

// Parameter and MAC accounting of one layer, per image (forward pass MACs;
// a training step costs about 3x this, a constant factor for every mode).
struct LcConvAccount {
  std::string mode;       // learned | frozen | lc
  std::string execution;  // folded | unfolded (what forward() runs)
  int64_t in_channels = 0, out_channels = 0, kernel_size = 0, stride = 0, lc_rate = 1;
  int64_t input_size = 0, output_size = 0;
  int64_t params_total = 0;   // every weight of the layer as a function (S per layer)
  int64_t params_learned = 0; // trained tensors (P, learned S or plain weight, mid BN)
  int64_t params_frozen = 0;  // frozen filters of this layer (its slice when shared)
  int64_t fold_macs = 0;      // P . S product, once per step (0 unless lc)
  int64_t train_macs_folded = 0;    // conv MACs + fold_macs / batch_size (= plain conv for non-lc)
  int64_t train_macs_unfolded = 0;  // S conv + P conv (= plain conv for non-lc)
  int64_t train_macs = 0;           // of the execution forward() runs
  int64_t inference_macs = 0;       // after fold-for-inference (unfolded with an intermediate op)
};

// Holds one weight tensor, as a parameter or a buffer, so names read "spatial.weight".
class WeightHolderImpl : public torch::nn::Module {
 public:
  WeightHolderImpl(torch::Tensor value, bool trainable);
  torch::Tensor weight;
};
TORCH_MODULE(WeightHolder);

class LcConv2dImpl : public torch::nn::Module {
 public:
  // Throws std::invalid_argument when ValidateLcConv2dOptions fails (callers
  // validate first; BuildNetwork turns it into a Status).
  explicit LcConv2dImpl(const LcConv2dOptions& options);

  torch::Tensor forward(const torch::Tensor& x);

  // The spatial filters S ([c_out*E, c_in, k, k]; the plain weight for
  // non-lc modes), with autograd history when learned.
  torch::Tensor SpatialWeight() const;
  // P as [c_out, c_out*E, 1, 1]; undefined for non-lc modes.
  torch::Tensor CombinationWeight() const;
  // W = P . S ([c_out, c_in, k, k]); the plain weight for non-lc modes.
  // Throws (c10::Error) for a block with an intermediate op: it is not linear.
  torch::Tensor FoldedWeight() const;
  // P . S without the linearity check: what filter statistics look at even
  // when an intermediate op makes it differ from the block's function.
  torch::Tensor ComposedWeight() const;
  // The tensor that stores this layer's frozen values (own buffer or the
  // shared T); undefined when nothing is frozen.
  torch::Tensor FrozenStorage() const;

  // Sharing: T is [>= c_out*E, >= c_in, k, k]; kept by reference, so a later
  // Module::to() of the owner (set_data) is seen here too.
  void AttachShared(torch::Tensor shared);

  LcConvAccount Account() const;
  const LcConv2dOptions& options() const { return options_; }
  bool is_lc() const { return mode_ == Mode::kLc; }
  bool folded() const { return folded_; }
  bool has_intermediate() const { return intermediate_ != Intermediate::kNone; }
  int64_t output_size() const;

 private:
  enum class Mode { kLearned, kFrozen, kLc };
  enum class Intermediate { kNone, kRelu, kBn, kBnRelu };

  int64_t expanded() const { return mode_ == Mode::kLc ? options_.out_channels * lc_rate_ : options_.out_channels; }
  int64_t padding() const { return options_.kernel_size / 2; }
  // [c_out*E, c_in*k*k] view of the (unscaled) shared slice.
  torch::Tensor SharedSlice2d() const;
  double shared_scale() const;

  LcConv2dOptions options_;
  Mode mode_ = Mode::kLc;
  Intermediate intermediate_ = Intermediate::kNone;
  int64_t lc_rate_ = 1;
  bool spatial_learned_ = false;
  bool folded_ = true;
  bool shared_ = false;

  torch::Tensor weight_;        // plain modes
  WeightHolder spatial_{nullptr};
  WeightHolder lc_{nullptr};
  torch::nn::BatchNorm2d mid_bn_{nullptr};
  torch::Tensor shared_tensor_;  // sharing: the network's T
};
TORCH_MODULE(LcConv2d);

}  // namespace lcsweep::nn
