// LcConv2d: one spatial (k x k) convolution of a network in any of the
// paper's conv modes (docs/method.md section 1):
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
// Reduced (frozen S, no intermediate op, SGD-family optimizer; see
// docs/reduced_lc.md) factors S = U . R once (float64 Cholesky QR, Householder
// for ill-conditioned S; m = c_out*E > n = c_in*k*k) and trains Q = P . U [c_out, n] and a scalar c instead of P:
// W = Q . R, so the per-step fold costs c_out*n*n whatever E is. Its
// parameters are "reduced.weight" (Q) and "reduced.decay" (c, whose gradient
// is always zero, so the optimizer applies to it exactly what it applies to
// the part of P orthogonal to U), its buffer "reduced.r" (R, regenerated);
// P is reconstructed on request (CombinationWeight). With m <= n reduced is
// folded (U would be the identity), parameters and all.
// `auto` picks the cheapest valid execution for training by the MAC model below.
//
// Frozen filters are a pure function of (seed, layer_index, shape, init)
// drawn from CounterRng on the CPU; learned tensors use it as well, so a model
// is bitwise reproducible across machines and LibTorch versions.
//
// Sharing (docs/method.md section 3): with share_group >= 0, the layer owns no
// spatial tensor; the network attaches a tensor T (AttachShared) and the layer
// uses S = scale * T[:c_out*E, :c_in] with scale = 1/sqrt(c_in*k*k). Only for
// frozen spatial filters (a shared learned T is not supported).
//
// Thread-safety: like any torch::nn::Module.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

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
  // train.optimizer of the job: execution "reduced" (and `auto` choosing it)
  // needs the SGD family, whose update is linear with scalar coefficients.
  std::string optimizer = "sgd";
  // dtype of the trained tensors at construction. Reduced layers derive Q(0)
  // and R in float64 and round them to this dtype, so a float64 model built
  // here is exact to float64 (a float32 model converted with to() later is
  // exact only to float32).
  torch::Dtype dtype = torch::kFloat32;
};

// Checks the options; INVALID_ARGUMENT says which field is wrong and how to fix it.
Status ValidateLcConv2dOptions(const LcConv2dOptions& options);

// Parameter and MAC accounting of one layer, per image (forward pass MACs;
// a training step costs about 3x this, a constant factor for every mode).
struct LcConvAccount {
  std::string mode;       // learned | frozen | lc
  std::string execution;  // folded | unfolded | reduced (what forward() runs)
  int64_t in_channels = 0, out_channels = 0, kernel_size = 0, stride = 0, lc_rate = 1;
  int64_t input_size = 0, output_size = 0;
  int64_t params_total = 0;   // every weight of the layer as a function (S per layer)
  // learned weights of the block as a function (P, learned S or plain
  // weight, mid BN): E*c_out^2 for P whatever the execution
  int64_t params_learned = 0;
  int64_t params_frozen = 0;  // frozen filters of this layer (its slice when shared)
  // scalars the optimizer holds for this layer (its parameters()): equal to
  // params_learned except for reduced layers (Q and c: c_out*n + 1)
  int64_t params_trained = 0;
  int64_t fold_macs = 0;          // fold of the execution forward() runs, once per step (0 unless lc)
  int64_t fold_macs_folded = 0;   // P . S: c_out * m * n
  int64_t fold_macs_reduced = 0;  // Q . R: c_out * n * n (= fold_macs_folded when m <= n)
  int64_t train_macs_folded = 0;    // conv MACs + fold_macs_folded / batch_size (= plain conv for non-lc)
  int64_t train_macs_unfolded = 0;  // S conv + P conv (= plain conv for non-lc)
  int64_t train_macs_reduced = 0;   // conv MACs + fold_macs_reduced / batch_size (= folded if invalid)
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

// The trained state of a reduced LC block: Q ("weight", [c_out, n]), c
// ("decay", [1]) and the regenerable R ("r" buffer, [n, n]).
class ReducedHolderImpl : public torch::nn::Module {
 public:
  ReducedHolderImpl(int64_t out_channels, int64_t n, torch::Dtype dtype);
  torch::Tensor weight, decay, r;
};
TORCH_MODULE(ReducedHolder);

class LcConv2dImpl : public torch::nn::Module {
 public:
  // Throws std::invalid_argument when ValidateLcConv2dOptions fails (callers
  // validate first; BuildNetwork turns it into a Status).
  explicit LcConv2dImpl(const LcConv2dOptions& options);

  torch::Tensor forward(const torch::Tensor& x);

  // The spatial filters S ([c_out*E, c_in, k, k]; the plain weight for
  // non-lc modes), with autograd history when learned.
  torch::Tensor SpatialWeight() const;
  // P as [c_out, c_out*E, 1, 1]; undefined for non-lc modes. Folded and
  // unfolded: the parameter itself. Reduced: reconstructed without autograd
  // history as P = Q . U^T + c . (P(0) - P(0) . U . U^T) in float64, with U
  // from the same factorisation of S as training used and P(0) regenerated
  // from the seed (an m*n^2 product: meant for statistics and export, not
  // for every step).
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
  // Buffers that construction regenerates from the seed (FrozenStorage and,
  // for reduced layers, R): what a checkpoint leaves out.
  std::vector<torch::Tensor> RegenerableBuffers() const;

  // Sharing: T is [>= c_out*E, >= c_in, k, k]; kept by reference, so a later
  // Module::to() of the owner (set_data) is seen here too. A reduced layer
  // factors its slice of T here (it has no S before).
  void AttachShared(torch::Tensor shared);

  LcConvAccount Account() const;
  const LcConv2dOptions& options() const { return options_; }
  bool is_lc() const { return mode_ == Mode::kLc; }
  bool folded() const { return execution_ == Execution::kFolded; }
  bool reduced() const { return execution_ == Execution::kReduced; }
  bool has_intermediate() const { return intermediate_ != Intermediate::kNone; }
  int64_t output_size() const;

 private:
  enum class Mode { kLearned, kFrozen, kLc };
  enum class Intermediate { kNone, kRelu, kBn, kBnRelu };
  enum class Execution { kFolded, kUnfolded, kReduced };

  int64_t expanded() const { return mode_ == Mode::kLc ? options_.out_channels * lc_rate_ : options_.out_channels; }
  int64_t padding() const { return options_.kernel_size / 2; }
  // [c_out*E, c_in*k*k] view of the (unscaled) shared slice.
  torch::Tensor SharedSlice2d() const;
  double shared_scale() const;
  // S as a float64 [m, n] CPU matrix (own buffer or scaled shared slice).
  torch::Tensor Spatial2dDouble() const;
  // P(0) as a float32 CPU [c_out, m] matrix, regenerated from the seed.
  torch::Tensor InitialCombination() const;
  // Factors S (in float64) and sets R, Q(0) = P(0) . U and c(0) = 1.
  void InitReduced();
  // Whether reduced execution can run this layer (frozen S, no op between S
  // and P, SGD family) and differs from folded (m > n).
  bool ReducedValid() const;
  bool ReducedApplies() const;

  LcConv2dOptions options_;
  Mode mode_ = Mode::kLc;
  Intermediate intermediate_ = Intermediate::kNone;
  int64_t lc_rate_ = 1;
  bool spatial_learned_ = false;
  Execution execution_ = Execution::kFolded;
  bool shared_ = false;

  torch::Tensor weight_;        // plain modes
  WeightHolder spatial_{nullptr};
  WeightHolder lc_{nullptr};         // P (folded, unfolded)
  ReducedHolder reduced_{nullptr};   // Q, c, R (reduced)
  torch::nn::BatchNorm2d mid_bn_{nullptr};
  torch::Tensor shared_tensor_;  // sharing: the network's T
};
TORCH_MODULE(LcConv2d);

}  // namespace lcsweep::nn
