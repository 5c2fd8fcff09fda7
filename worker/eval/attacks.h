// L-inf adversarial attacks in [0,1] pixel space (docs/method.md section 6).
//
// The model normalises internally, so perturbations live in pixel space. The
// caller puts the model in eval mode (BN statistics frozen); the attacks never
// change parameters or their .grad (gradients are taken w.r.t. the input only).
//
// FGSM:  x' = clip(x + eps * sign(grad_x CE(f(x), y)), 0, 1)
// PGD:   x0 = clip(x + U[-eps, eps]), then `steps` times
//        x  = clip(proj_eps(x + step * sign(grad_x CE)), 0, 1), proj to [x-eps, x+eps].
// The random start is drawn on the CPU from `generator`, then moved to the
// device, so a given seed gives the same start on every device.
//
// Robust accuracy counts an image as correct only when it is classified
// correctly both clean and after the attack, so it can never exceed clean
// accuracy (an attack that "repairs" a wrong prediction earns nothing).
// Thread-safety: uses the model; not safe concurrently with other users of it.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "worker/nn/network.h"

namespace lcsweep::eval {

// Gradient of the summed cross-entropy w.r.t. the input batch (same device as x).
torch::Tensor InputGradient(nn::NetworkImpl& model, const torch::Tensor& x, const torch::Tensor& y);

// One batch, on the batch's device. Returns the adversarial images.
torch::Tensor Fgsm(nn::NetworkImpl& model, const torch::Tensor& x, const torch::Tensor& y, double eps);
torch::Tensor Pgd(nn::NetworkImpl& model, const torch::Tensor& x, const torch::Tensor& y, double eps,
                  int64_t steps, double step_size, at::Generator& generator);

struct AttackOptions {
  std::string kind = "fgsm";  // "fgsm" | "pgd"
  double eps = 0;
  int64_t steps = 40;         // pgd only
  double step_size = 0;       // pgd only
};

// Robust accuracy over a CPU data set (see the header comment for the
// definition). `clean_correct` is CorrectMask() of the same images.
double RobustAccuracy(nn::NetworkImpl& model, const torch::Tensor& images, const torch::Tensor& labels,
                      const torch::Tensor& clean_correct, const AttackOptions& options,
                      torch::Device device, int64_t batch_size, at::Generator& generator);

}  // namespace lcsweep::eval
