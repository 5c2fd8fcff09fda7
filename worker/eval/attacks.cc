#include "worker/eval/attacks.h"

#include <algorithm>

namespace lcsweep::eval {

torch::Tensor InputGradient(nn::NetworkImpl& model, const torch::Tensor& x, const torch::Tensor& y) {
  torch::Tensor input = x.detach().clone().set_requires_grad(true);
  torch::Tensor logits = model.forward(input).to(torch::kFloat);
  torch::Tensor loss = torch::nn::functional::cross_entropy(
      logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
  // autograd::grad w.r.t. the input only: parameters' .grad stay untouched.
  return torch::autograd::grad({loss}, {input})[0].detach();
}

torch::Tensor Fgsm(nn::NetworkImpl& model, const torch::Tensor& x, const torch::Tensor& y, double eps) {
  torch::Tensor g = InputGradient(model, x, y);
  return (x + eps * g.sign()).clamp(0, 1).detach();
}

torch::Tensor Pgd(nn::NetworkImpl& model, const torch::Tensor& x, const torch::Tensor& y, double eps,
                  int64_t steps, double step_size, at::Generator& generator) {
  torch::Tensor noise =
      torch::rand(x.sizes(), generator, torch::TensorOptions().dtype(torch::kFloat)).mul_(2 * eps).sub_(eps);
  torch::Tensor lo = (x - eps).clamp(0, 1), hi = (x + eps).clamp(0, 1);
  torch::Tensor adv = torch::max(torch::min(x + noise.to(x.device()), hi), lo).detach();
  for (int64_t s = 0; s < steps; ++s) {
    torch::Tensor g = InputGradient(model, adv, y);
    adv = torch::max(torch::min(adv + step_size * g.sign(), hi), lo).detach();
  }
  return adv;
}

double RobustAccuracy(nn::NetworkImpl& model, const torch::Tensor& images, const torch::Tensor& labels,
                      const torch::Tensor& clean_correct, const AttackOptions& options,
                      torch::Device device, int64_t batch_size, at::Generator& generator) {
  const int64_t n = images.size(0);
  if (n == 0) return 0;
  int64_t correct = 0;
  for (int64_t start = 0; start < n; start += batch_size) {
    const int64_t len = std::min(batch_size, n - start);
    torch::Tensor x = images.narrow(0, start, len).to(device, torch::kFloat);
    torch::Tensor y = labels.narrow(0, start, len).to(device, torch::kLong);
    torch::Tensor adv = options.kind == "pgd"
                            ? Pgd(model, x, y, options.eps, options.steps, options.step_size, generator)
                            : Fgsm(model, x, y, options.eps);
    torch::NoGradGuard no_grad;
    torch::Tensor ok = model.forward(adv).argmax(1).eq(y).cpu() & clean_correct.narrow(0, start, len);
    correct += ok.sum().item<int64_t>();
  }
  return static_cast<double>(correct) / n;
}

}  // namespace lcsweep::eval
