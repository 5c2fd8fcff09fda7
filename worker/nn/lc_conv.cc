#include "worker/nn/lc_conv.h"

#include <cmath>
#include <stdexcept>
#include <tuple>

namespace lcsweep::nn {

namespace {

int64_t OutputSize(int64_t input, int64_t kernel, int64_t stride) {
  return (input + 2 * (kernel / 2) - kernel) / stride + 1;
}

// Optimizers whose update is linear in (gradient, weight, momentum buffer)
// with per-step scalar coefficients: plain SGD, momentum, Nesterov and
// coupled weight decay. The reduced form is exact for exactly these.
bool IsSgdFamily(const std::string& optimizer) { return optimizer == "sgd"; }

// W = Q . R with the gradient G . R^T for Q and an explicit zero for c: the
// decay scalar must receive a (zero) gradient every step, or the optimizer
// would skip it and its weight decay and momentum would stop matching those
// of P's orthogonal part.
class ReducedFold : public torch::autograd::Function<ReducedFold> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& q,
                               const torch::Tensor& r, const torch::Tensor& c) {
    ctx->save_for_backward({r, c});
    return torch::mm(q, r);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& r = saved[0];
    // Under autocast the incoming gradient may be bfloat16; Q's is R's dtype.
    torch::Tensor grad_q = torch::mm(grads[0].to(r.dtype()), r.t());
    return {grad_q, torch::Tensor(), torch::zeros_like(saved[1])};
  }
};

// S = U . R with U [m, n] orthonormal columns, R [n, n] upper triangular.
// Cholesky QR (R from the Gram matrix S^T S, U = S . R^-1 kept implicit) costs
// one m*n^2 product and no m-sized LAPACK work; Householder QR (U explicit)
// is the fallback for an S too ill-conditioned for it (Cholesky QR loses
// orthogonality like cond(S)^2 * eps) or rank-deficient.
struct SpatialFactor {
  torch::Tensor s, r;  // float64 CPU
  torch::Tensor u;     // defined only for the Householder fallback
};

SpatialFactor FactorSpatial(torch::Tensor s) {
  SpatialFactor f;
  f.s = std::move(s);
  auto [chol, info] = at::linalg_cholesky_ex(torch::mm(f.s.t(), f.s), /*upper=*/true);
  if (info.item<int64_t>() == 0) {
    torch::Tensor d = chol.diagonal();
    // diag ratio bounds cond(S) from below; 1e-4 keeps cond^2 * eps near 1e-8 at worst.
    if (d.min().item<double>() > 1e-4 * d.max().item<double>()) {
      f.r = chol;
      return f;
    }
  }
  std::tie(f.u, f.r) = at::linalg_qr(f.s, "reduced");
  return f;
}

// X . U for X [rows, m].
torch::Tensor TimesU(const SpatialFactor& f, const torch::Tensor& x) {
  if (f.u.defined()) return torch::mm(x, f.u);
  return at::linalg_solve_triangular(f.r, torch::mm(x, f.s), /*upper=*/true, /*left=*/false);
}

// X . U^T for X [rows, n].
torch::Tensor TimesUt(const SpatialFactor& f, const torch::Tensor& x) {
  if (f.u.defined()) return torch::mm(x, f.u.t());
  // U^T = R^-T . S^T: solve Y . R^T = X, then Y . S^T.
  return torch::mm(at::linalg_solve_triangular(f.r.t(), x, /*upper=*/false, /*left=*/false), f.s.t());
}

}  // namespace

Status ValidateLcConv2dOptions(const LcConv2dOptions& o) {
  const ConvConfig& c = o.conv;
  if (o.in_channels < 1 || o.out_channels < 1) {
    return InvalidArgumentError("conv channels must be >= 1 (got in=" + std::to_string(o.in_channels) +
                                ", out=" + std::to_string(o.out_channels) + ")");
  }
  if (o.kernel_size < 1 || o.kernel_size % 2 == 0) {
    return InvalidArgumentError("model.kernel_size must be odd and >= 1 (padding is k/2), got " +
                                std::to_string(o.kernel_size));
  }
  if (o.stride < 1) return InvalidArgumentError("conv stride must be >= 1");
  if (c.mode != "lc" && c.mode != "learned" && c.mode != "frozen") {
    return InvalidArgumentError("unknown model.conv.mode '" + c.mode + "'; allowed: lc, learned, frozen");
  }
  if (c.lc_rate < 1) {
    return InvalidArgumentError("model.conv.lc_rate must be >= 1 (the LC rate E), got " +
                                std::to_string(c.lc_rate));
  }
  if (c.spatial != "frozen" && c.spatial != "learned") {
    return InvalidArgumentError("unknown model.conv.spatial '" + c.spatial + "'; allowed: frozen, learned");
  }
  LCSWEEP_RETURN_IF_ERROR(ParseInitKind(c.init).status());
  if (c.sharing != "none" && c.sharing != "global" && c.sharing != "per_stage") {
    return InvalidArgumentError("unknown model.conv.sharing '" + c.sharing +
                                "'; allowed: none, global, per_stage");
  }
  if (c.intermediate != "none" && c.intermediate != "relu" && c.intermediate != "bn" &&
      c.intermediate != "bn_relu") {
    return InvalidArgumentError("unknown model.conv.intermediate '" + c.intermediate +
                                "'; allowed: none, relu, bn, bn_relu");
  }
  if (c.execution != "auto" && c.execution != "folded" && c.execution != "unfolded" &&
      c.execution != "reduced") {
    return InvalidArgumentError("unknown model.conv.execution '" + c.execution +
                                "'; allowed: auto, folded, unfolded, reduced");
  }
  if (c.execution == "reduced" && c.mode == "lc") {
    if (c.spatial != "frozen") {
      return InvalidArgumentError(
          "model.conv.execution 'reduced' needs model.conv.spatial 'frozen' (it factors the frozen S "
          "once); got 'learned'; use execution 'folded' or 'auto'");
    }
    if (c.intermediate != "none") {
      return InvalidArgumentError("model.conv.execution 'reduced' needs model.conv.intermediate 'none' "
                                  "(nothing between S and P); got '" + c.intermediate +
                                  "'; use execution 'unfolded' or 'auto'");
    }
    if (!IsSgdFamily(o.optimizer)) {
      return InvalidArgumentError("model.conv.execution 'reduced' needs train.optimizer 'sgd' (the SGD "
                                  "family is linear, which makes the reduced form exact); got '" +
                                  o.optimizer + "'");
    }
  }
  if (c.intermediate != "none" && c.mode != "lc") {
    return InvalidArgumentError("model.conv.intermediate '" + c.intermediate +
                                "' needs model.conv.mode 'lc' (it sits between S and P); got mode '" +
                                c.mode + "'");
  }
  if (c.intermediate != "none" && c.execution == "folded") {
    return InvalidArgumentError(
        "model.conv.execution 'folded' is impossible with model.conv.intermediate '" + c.intermediate +
        "': with an op between S and P the block is not linear, so S and P cannot be composed into "
        "one filter; use execution 'unfolded' or 'auto'");
  }
  const bool frozen_spatial = c.mode == "frozen" || (c.mode == "lc" && c.spatial == "frozen");
  if (c.sharing != "none" && !frozen_spatial) {
    return InvalidArgumentError("model.conv.sharing '" + c.sharing +
                                "' shares frozen spatial filters only; use conv.mode 'frozen', or mode "
                                "'lc' with spatial 'frozen', or sharing 'none'");
  }
  if (o.batch_size < 1) return InvalidArgumentError("batch size for the MAC model must be >= 1");
  if (o.input_size < 1) return InvalidArgumentError("input size must be >= 1");
  return OkStatus();
}

WeightHolderImpl::WeightHolderImpl(torch::Tensor value, bool trainable) {
  weight = trainable ? register_parameter("weight", value) : register_buffer("weight", value);
}

ReducedHolderImpl::ReducedHolderImpl(int64_t out_channels, int64_t n, torch::Dtype dtype) {
  const auto opts = torch::TensorOptions().dtype(dtype);
  weight = register_parameter("weight", torch::zeros({out_channels, n}, opts));
  decay = register_parameter("decay", torch::ones({1}, opts));
  r = register_buffer("r", torch::zeros({n, n}, opts));
}

LcConv2dImpl::LcConv2dImpl(const LcConv2dOptions& options) : options_(options) {
  Status status = ValidateLcConv2dOptions(options);
  if (!status.ok()) throw std::invalid_argument(status.message());
  const ConvConfig& c = options.conv;
  mode_ = c.mode == "lc" ? Mode::kLc : c.mode == "learned" ? Mode::kLearned : Mode::kFrozen;
  intermediate_ = c.intermediate == "relu"    ? Intermediate::kRelu
                  : c.intermediate == "bn"      ? Intermediate::kBn
                  : c.intermediate == "bn_relu" ? Intermediate::kBnRelu
                                                : Intermediate::kNone;
  lc_rate_ = mode_ == Mode::kLc ? c.lc_rate : 1;
  spatial_learned_ = mode_ == Mode::kLearned || (mode_ == Mode::kLc && c.spatial == "learned");
  shared_ = options.share_group >= 0;
  if (shared_ && spatial_learned_) throw std::invalid_argument("sharing needs frozen spatial filters");

  // The execution, before any tensor exists (it decides which ones do).
  if (mode_ != Mode::kLc) {
    execution_ = Execution::kFolded;  // plain convs are "folded" trivially
  } else if (intermediate_ != Intermediate::kNone) {
    execution_ = Execution::kUnfolded;
  } else if (c.execution == "folded") {
    execution_ = Execution::kFolded;
  } else if (c.execution == "unfolded") {
    execution_ = Execution::kUnfolded;
  } else if (c.execution == "reduced") {
    execution_ = ReducedApplies() ? Execution::kReduced : Execution::kFolded;  // m <= n: the same
  } else {
    const LcConvAccount a = Account();
    if (ReducedApplies() && a.train_macs_reduced <= std::min(a.train_macs_folded, a.train_macs_unfolded)) {
      execution_ = Execution::kReduced;
    } else {
      execution_ = a.train_macs_folded <= a.train_macs_unfolded ? Execution::kFolded : Execution::kUnfolded;
    }
  }

  const int64_t k = options.kernel_size;
  const int64_t cin = options.in_channels, cout = options.out_channels;
  const InitKind init = ParseInitKind(c.init).value();
  const auto seed = options.seed;
  const auto layer = static_cast<uint64_t>(options.layer_index);

  torch::Tensor spatial;
  if (!shared_) {
    spatial = InitTensor(init, {expanded(), cin, k, k}, cin * k * k,
                         CounterRng(seed, layer, RngStream::kSpatial));
  }
  if (mode_ == Mode::kLc) {
    if (!shared_) spatial_ = register_module("spatial", WeightHolder(spatial, spatial_learned_));
    if (execution_ == Execution::kReduced) {
      reduced_ = register_module("reduced", ReducedHolder(cout, cin * k * k, options.dtype));
      if (!shared_) InitReduced();  // shared: once AttachShared provides S
    } else {
      lc_ = register_module("lc", WeightHolder(InitialCombination().view({cout, expanded(), 1, 1}),
                                               /*trainable=*/true));
    }
    if (intermediate_ == Intermediate::kBn || intermediate_ == Intermediate::kBnRelu) {
      mid_bn_ = register_module("mid_bn", torch::nn::BatchNorm2d(expanded()));
    }
  } else if (!shared_) {
    weight_ = spatial_learned_ ? register_parameter("weight", spatial) : register_buffer("weight", spatial);
  }
  if (options.dtype != torch::kFloat32) to(options.dtype);
}

bool LcConv2dImpl::ReducedValid() const {
  return mode_ == Mode::kLc && !spatial_learned_ && intermediate_ == Intermediate::kNone &&
         IsSgdFamily(options_.optimizer);
}

bool LcConv2dImpl::ReducedApplies() const {
  const int64_t k = options_.kernel_size;
  return ReducedValid() && expanded() > options_.in_channels * k * k;
}

torch::Tensor LcConv2dImpl::InitialCombination() const {
  // P: Kaiming-uniform with fan-in c_out*E (docs/method.md section 2), whatever the spatial init.
  return InitTensor(InitKind::kKaimingUniform, {options_.out_channels, expanded(), 1, 1}, expanded(),
                    CounterRng(options_.seed, static_cast<uint64_t>(options_.layer_index),
                               RngStream::kCombination))
      .view({options_.out_channels, expanded()});
}

torch::Tensor LcConv2dImpl::Spatial2dDouble() const {
  const int64_t n = options_.in_channels * options_.kernel_size * options_.kernel_size;
  if (shared_) return SharedSlice2d().to(torch::kCPU, torch::kFloat64) * shared_scale();
  return spatial_->weight.detach().reshape({expanded(), n}).to(torch::kCPU, torch::kFloat64);
}

void LcConv2dImpl::InitReduced() {
  torch::NoGradGuard no_grad;
  const SpatialFactor f = FactorSpatial(Spatial2dDouble());
  torch::Tensor p0 = InitialCombination().to(torch::kFloat64);
  reduced_->weight.copy_(TimesU(f, p0));
  reduced_->r.copy_(f.r);
  reduced_->decay.fill_(1.0);
}

int64_t LcConv2dImpl::output_size() const {
  return OutputSize(options_.input_size, options_.kernel_size, options_.stride);
}

double LcConv2dImpl::shared_scale() const { return KaimingUniformBound(options_.in_channels * options_.kernel_size * options_.kernel_size); }

void LcConv2dImpl::AttachShared(torch::Tensor shared) {
  TORCH_CHECK(shared_, "AttachShared on a layer without a sharing group");
  TORCH_CHECK(shared.dim() == 4 && shared.size(0) >= expanded() && shared.size(1) >= options_.in_channels &&
                  shared.size(2) == options_.kernel_size && shared.size(3) == options_.kernel_size,
              "shared spatial tensor too small for layer ", options_.layer_index);
  shared_tensor_ = shared;
  if (execution_ == Execution::kReduced) InitReduced();
}

torch::Tensor LcConv2dImpl::SharedSlice2d() const {
  TORCH_CHECK(shared_tensor_.defined(), "layer ", options_.layer_index,
              " uses a shared spatial tensor that was never attached");
  const int64_t kk = options_.kernel_size * options_.kernel_size;
  // Row r of T flattened to [rows, c_in_max*k*k] starts with the c_in*k*k
  // values of channels 0..c_in-1: a strided 2-D view, no copy.
  return shared_tensor_.reshape({shared_tensor_.size(0), -1})
      .slice(0, 0, expanded())
      .slice(1, 0, options_.in_channels * kk);
}

torch::Tensor LcConv2dImpl::SpatialWeight() const {
  if (shared_) {
    const int64_t k = options_.kernel_size;
    return (SharedSlice2d() * shared_scale()).reshape({expanded(), options_.in_channels, k, k});
  }
  return mode_ == Mode::kLc ? spatial_->weight : weight_;
}

torch::Tensor LcConv2dImpl::CombinationWeight() const {
  if (mode_ != Mode::kLc) return torch::Tensor();
  if (execution_ != Execution::kReduced) return lc_->weight;
  torch::NoGradGuard no_grad;
  // The same factorisation as InitReduced (a deterministic function of S),
  // so U matches the R that training used.
  const SpatialFactor f = FactorSpatial(Spatial2dDouble());
  torch::Tensor p0 = InitialCombination().to(torch::kFloat64);
  torch::Tensor q = reduced_->weight.detach().to(torch::kCPU, torch::kFloat64);
  const double c = reduced_->decay.detach().to(torch::kCPU, torch::kFloat64).item<double>();
  // Q . U^T + c . (P0 - P0 . U . U^T) = (Q - c . P0 . U) . U^T + c . P0
  torch::Tensor p = TimesUt(f, q - c * TimesU(f, p0)) + c * p0;
  return p.to(reduced_->weight.device(), reduced_->weight.scalar_type())
      .view({options_.out_channels, expanded(), 1, 1});
}

torch::Tensor LcConv2dImpl::FoldedWeight() const {
  if (mode_ != Mode::kLc) return SpatialWeight();
  TORCH_CHECK(intermediate_ == Intermediate::kNone, "an LC block with intermediate op '",
              options_.conv.intermediate, "' is not linear and cannot be folded");
  return ComposedWeight();
}

torch::Tensor LcConv2dImpl::ComposedWeight() const {
  if (mode_ != Mode::kLc) return SpatialWeight();
  const int64_t k = options_.kernel_size;
  const int64_t cin = options_.in_channels, cout = options_.out_channels;
  if (execution_ == Execution::kReduced) {
    return ReducedFold::apply(reduced_->weight, reduced_->r, reduced_->decay).view({cout, cin, k, k});
  }
  torch::Tensor p = lc_->weight.reshape({cout, expanded()});
  torch::Tensor w;
  if (shared_) {
    // Scale the small product rather than the large slice.
    w = torch::mm(p, SharedSlice2d()) * shared_scale();
  } else {
    w = torch::mm(p, spatial_->weight.reshape({expanded(), cin * k * k}));
  }
  return w.view({cout, cin, k, k});
}

torch::Tensor LcConv2dImpl::FrozenStorage() const {
  if (spatial_learned_) return torch::Tensor();
  if (shared_) return shared_tensor_;
  return mode_ == Mode::kLc ? spatial_->weight : weight_;
}

std::vector<torch::Tensor> LcConv2dImpl::RegenerableBuffers() const {
  std::vector<torch::Tensor> buffers;
  torch::Tensor frozen = FrozenStorage();
  if (frozen.defined()) buffers.push_back(frozen);
  if (execution_ == Execution::kReduced) buffers.push_back(reduced_->r);
  return buffers;
}

torch::Tensor LcConv2dImpl::forward(const torch::Tensor& x) {
  const int64_t s = options_.stride, pad = padding();
  if (execution_ != Execution::kUnfolded) return torch::conv2d(x, FoldedWeight(), {}, s, pad);
  torch::Tensor z = torch::conv2d(x, SpatialWeight(), {}, s, pad);
  switch (intermediate_) {
    case Intermediate::kNone:
      break;
    case Intermediate::kRelu:
      z = torch::relu(z);
      break;
    case Intermediate::kBn:
      z = mid_bn_->forward(z);
      break;
    case Intermediate::kBnRelu:
      z = torch::relu(mid_bn_->forward(z));
      break;
  }
  return torch::conv2d(z, lc_->weight);
}

LcConvAccount LcConv2dImpl::Account() const {
  LcConvAccount a;
  const int64_t k = options_.kernel_size;
  const int64_t cin = options_.in_channels, cout = options_.out_channels, ce = expanded();
  a.mode = options_.conv.mode;
  a.in_channels = cin;
  a.out_channels = cout;
  a.kernel_size = k;
  a.stride = options_.stride;
  a.lc_rate = lc_rate_;
  a.input_size = options_.input_size;
  a.output_size = output_size();
  const int64_t hw = a.output_size * a.output_size;
  const int64_t n = cin * k * k;
  const int64_t spatial_params = ce * n;
  const int64_t plain_macs = cout * cin * k * k * hw;
  a.params_total = spatial_params;
  (spatial_learned_ ? a.params_learned : a.params_frozen) += spatial_params;
  if (mode_ == Mode::kLc) {
    const int64_t p_params = cout * ce;
    const int64_t bn_params = mid_bn_ ? 2 * ce : 0;
    a.params_total += p_params + bn_params;
    a.params_learned += p_params + bn_params;
    a.fold_macs = a.fold_macs_folded = cout * ce * n;
    a.fold_macs_reduced = ReducedApplies() ? cout * n * n : a.fold_macs_folded;
    a.train_macs_unfolded = spatial_params * hw + cout * ce * hw;
    a.train_macs_folded = plain_macs + a.fold_macs_folded / options_.batch_size;
    a.train_macs_reduced = plain_macs + a.fold_macs_reduced / options_.batch_size;
    a.inference_macs = intermediate_ == Intermediate::kNone ? plain_macs : a.train_macs_unfolded;
    if (intermediate_ != Intermediate::kNone) a.train_macs_folded = a.train_macs_unfolded;  // cannot fold
    if (!ReducedValid()) a.train_macs_reduced = a.train_macs_folded;
    // Q [c_out, n] and c replace P [c_out, m].
    a.params_trained = execution_ == Execution::kReduced ? a.params_learned - p_params + cout * n + 1
                                                         : a.params_learned;
  } else {
    a.train_macs_unfolded = a.train_macs_folded = a.train_macs_reduced = a.inference_macs = plain_macs;
    a.params_trained = a.params_learned;
  }
  switch (execution_) {
    case Execution::kFolded:
      a.execution = "folded";
      a.train_macs = a.train_macs_folded;
      break;
    case Execution::kUnfolded:
      a.execution = "unfolded";
      a.train_macs = a.train_macs_unfolded;
      break;
    case Execution::kReduced:
      a.execution = "reduced";
      a.train_macs = a.train_macs_reduced;
      break;
  }
  return a;
}

}  // namespace lcsweep::nn
