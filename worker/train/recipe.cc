#include "worker/train/recipe.h"

#include <cmath>

namespace lcsweep::train {

double LearningRate(const TrainConfig& t, int64_t step, int64_t steps_per_epoch) {
  const int64_t total = t.epochs * steps_per_epoch;
  const int64_t warmup = std::min(t.warmup_epochs * steps_per_epoch, total);
  if (step < warmup) return t.lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
  if (t.schedule == "cosine") {
    const double span = static_cast<double>(total - warmup);
    if (span <= 0) return 0.0;
    const double x = static_cast<double>(step - warmup) / span;
    return t.lr * 0.5 * (1.0 + std::cos(M_PI * std::min(x, 1.0)));
  }
  if (t.schedule == "step") {
    const int64_t epoch = steps_per_epoch > 0 ? step / steps_per_epoch : 0;
    const int64_t drops = t.step_epochs > 0 ? epoch / t.step_epochs : 0;
    return t.lr * std::pow(t.step_gamma, static_cast<double>(drops));
  }
  return t.lr;  // constant
}

Status ValidateSchedule(const TrainConfig& t) {
  if (t.schedule != "cosine" && t.schedule != "step" && t.schedule != "constant") {
    return InvalidArgumentError("train.schedule: expected cosine, step or constant, found '" + t.schedule + "'");
  }
  if (t.optimizer != "sgd") return InvalidArgumentError("train.optimizer: only 'sgd' is implemented, found '" + t.optimizer + "'");
  if (t.epochs < 1) return InvalidArgumentError("train.epochs: expected >= 1");
  if (t.batch_size < 1) return InvalidArgumentError("train.batch_size: expected >= 1");
  if (t.warmup_epochs < 0 || t.warmup_epochs > t.epochs) {
    return InvalidArgumentError("train.warmup_epochs: expected 0..train.epochs");
  }
  if (t.schedule == "step" && t.step_epochs < 1) return InvalidArgumentError("train.step_epochs: expected >= 1");
  if (t.label_smoothing < 0 || t.label_smoothing >= 1) {
    return InvalidArgumentError("train.label_smoothing: expected [0, 1)");
  }
  return OkStatus();
}

torch::Tensor SmoothedCrossEntropy(const torch::Tensor& logits, const torch::Tensor& targets, double eps) {
  namespace F = torch::nn::functional;
  return F::cross_entropy(logits.to(torch::kFloat32), targets,
                          F::CrossEntropyFuncOptions().label_smoothing(eps));
}

}  // namespace lcsweep::train
