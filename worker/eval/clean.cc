#include "worker/eval/clean.h"

#include <algorithm>

namespace lcsweep::eval {

CleanMetrics EvaluateClean(nn::NetworkImpl& model, const torch::Tensor& images,
                           const torch::Tensor& labels, torch::Device device, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  CleanMetrics m;
  const int64_t n = images.size(0);
  double correct1 = 0, correct5 = 0, loss_sum = 0;
  for (int64_t start = 0; start < n; start += batch_size) {
    const int64_t len = std::min(batch_size, n - start);
    torch::Tensor x = images.narrow(0, start, len).to(device, torch::kFloat);
    torch::Tensor y = labels.narrow(0, start, len).to(device, torch::kLong);
    torch::Tensor logits = model.forward(x).to(torch::kFloat);
    loss_sum += torch::nn::functional::cross_entropy(
                    logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                    .item<double>();
    const int64_t k = std::min<int64_t>(5, logits.size(1));
    torch::Tensor topk = std::get<1>(logits.topk(k, /*dim=*/1));
    torch::Tensor hit = topk.eq(y.unsqueeze(1));
    correct1 += hit.select(1, 0).sum().item<double>();
    correct5 += hit.any(1).sum().item<double>();
  }
  m.n = n;
  if (n > 0) {
    m.accuracy = correct1 / n;
    m.top5 = correct5 / n;
    m.loss = loss_sum / n;
  }
  return m;
}

torch::Tensor CorrectMask(nn::NetworkImpl& model, const torch::Tensor& images,
                          const torch::Tensor& labels, torch::Device device, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  const int64_t n = images.size(0);
  torch::Tensor out = torch::zeros({n}, torch::kBool);
  for (int64_t start = 0; start < n; start += batch_size) {
    const int64_t len = std::min(batch_size, n - start);
    torch::Tensor x = images.narrow(0, start, len).to(device, torch::kFloat);
    torch::Tensor y = labels.narrow(0, start, len).to(device, torch::kLong);
    out.narrow(0, start, len).copy_(model.forward(x).argmax(1).eq(y).cpu());
  }
  return out;
}

}  // namespace lcsweep::eval
