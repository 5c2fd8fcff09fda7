#include "worker/eval/evaluate.h"

#include <ATen/CPUGeneratorImpl.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>

#include "worker/eval/attacks.h"
#include "worker/eval/corruptions.h"
#include "worker/eval/filter_stats.h"
#include "worker/eval/npy.h"

namespace lcsweep::eval {
namespace {

// CIFAR-10-C stacks the 5 severities along axis 0 (5 x 10000 test images);
// the block size is taken from the file (rows / 5), so smaller files work too.
StatusOr<int64_t> RowsPerSeverity(const std::string& path) {
  LCSWEEP_ASSIGN_OR_RETURN(NpyHeader h, ReadNpyHeader(path));
  if (h.shape.empty() || h.shape[0] % 5 != 0)
    return InvalidArgumentError(path + ": expected 5 stacked severities (rows divisible by 5)");
  return h.shape[0] / 5;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Restores the model's train/eval mode on scope exit.
class ModeGuard {
 public:
  explicit ModeGuard(nn::NetworkImpl& model) : model_(model), was_training_(model.is_training()) { model_.eval(); }
  ~ModeGuard() { model_.train(was_training_); }

 private:
  nn::NetworkImpl& model_;
  bool was_training_;
};

double Accuracy(nn::NetworkImpl& model, const torch::Tensor& images, const torch::Tensor& labels,
                const EvalInputs& in) {
  return EvaluateClean(model, images, labels, in.device, in.batch_size).accuracy;
}

StatusOr<nlohmann::json> CorruptionResults(nn::NetworkImpl& model, const EvalConfig& cfg, const EvalInputs& in,
                                           const torch::Tensor& images, const torch::Tensor& labels) {
  LCSWEEP_ASSIGN_OR_RETURN(std::vector<std::string> names, ExpandCorruptionNames(cfg.corruptions));
  for (int64_t s : cfg.severities)
    if (s < 1 || s > 5)
      return InvalidArgumentError("eval.severities: " + std::to_string(s) + " is out of range 1..5");
  const bool from_npy = !cfg.corruptions_root.empty();
  const bool expanded_all = cfg.corruptions.size() == 1 && cfg.corruptions[0] == "all";
  nlohmann::json out = nlohmann::json::object();
  nlohmann::json omitted = nlohmann::json::object();
  double sum = 0;
  int64_t count = 0;
  const int64_t n = images.size(0);
  torch::Tensor npy_labels;
  if (from_npy) {
    if (images.size(1) != 3 || images.size(2) != 32 || images.size(3) != 32)
      return InvalidArgumentError("eval.corruptions_root is set but the test images are not 3x32x32; "
                                  "CIFAR-10-C files only fit CIFAR-10/100 models");
    const std::string path = (std::filesystem::path(cfg.corruptions_root) / "labels.npy").string();
    LCSWEEP_ASSIGN_OR_RETURN(const int64_t per, RowsPerSeverity(path));
    if (n > per)
      return InvalidArgumentError(path + ": holds " + std::to_string(per) + " images per severity but " +
                                  std::to_string(n) + " are evaluated; lower eval.robustness_limit");
    LCSWEEP_ASSIGN_OR_RETURN(npy_labels, ReadNpyRows(path, 0, n));
    if (npy_labels.dim() != 1) return InvalidArgumentError(path + ": expected a 1-d label array");
    npy_labels = npy_labels.to(torch::kLong);
  }
  for (const std::string& name : names) {
    if (!from_npy && !IsGenerated(name)) {
      if (!expanded_all) {
        return Corrupt(name, images.narrow(0, 0, 0), 1, 0).status();  // the explanatory error
      }
      omitted[name] = "not generated on the fly (needs the original frost photographs); "
                      "use eval.corruptions_root with the published frost.npy";
      continue;
    }
    nlohmann::json accs = nlohmann::json::array();
    for (int64_t s : cfg.severities) {
      torch::Tensor x, y = labels;
      if (from_npy) {
        const std::string path = (std::filesystem::path(cfg.corruptions_root) / (name + ".npy")).string();
        LCSWEEP_ASSIGN_OR_RETURN(const int64_t per, RowsPerSeverity(path));
        if (n > per)
          return InvalidArgumentError(path + ": holds " + std::to_string(per) + " images per severity but " +
                                      std::to_string(n) + " are evaluated; lower eval.robustness_limit");
        LCSWEEP_ASSIGN_OR_RETURN(x, ReadNpyRows(path, (s - 1) * per, n));
        if (x.dim() != 4 || x.size(1) != 32 || x.size(2) != 32 || x.size(3) != 3 || x.scalar_type() != torch::kUInt8)
          return InvalidArgumentError(path + ": expected uint8 [N, 32, 32, 3] images");
        x = x.permute({0, 3, 1, 2}).to(torch::kFloat).div_(255).contiguous();
        y = npy_labels.narrow(0, 0, n);
      } else {
        LCSWEEP_ASSIGN_OR_RETURN(
            x, Corrupt(name, images, static_cast<int>(s), static_cast<uint64_t>(in.seed) * 1000003ULL + 17));
      }
      const double acc = Accuracy(model, x, y, in);
      accs.push_back(acc);
      sum += acc;
      ++count;
    }
    out[name] = accs;
  }
  out["severities"] = cfg.severities;
  out["mean"] = count > 0 ? nlohmann::json(sum / count) : nlohmann::json(nullptr);
  out["source"] = from_npy ? "npy" : "generated";
  if (!omitted.empty()) out["omitted"] = omitted;
  return out;
}

StatusOr<nlohmann::json> Run(nn::NetworkImpl& model, const EvalConfig& cfg, const EvalInputs& in) {
  if (!in.images.defined() || in.images.dim() != 4)
    return InvalidArgumentError("evaluation images must be a float tensor [N, C, H, W]");
  if (!in.labels.defined() || in.labels.dim() != 1 || in.labels.size(0) != in.images.size(0))
    return InvalidArgumentError("evaluation labels must be int64 [N] matching the images");
  if (in.batch_size < 1) return InvalidArgumentError("evaluation batch_size must be >= 1");
  if (cfg.pgd_steps < 0) return InvalidArgumentError("eval.pgd_steps must be >= 0");
  for (double e : cfg.fgsm_eps)
    if (!(e >= 0)) return InvalidArgumentError("eval.fgsm_eps values must be >= 0");
  for (double e : cfg.pgd_eps)
    if (!(e >= 0)) return InvalidArgumentError("eval.pgd_eps values must be >= 0");
  ModeGuard mode(model);
  nlohmann::json result;
  nlohmann::json timings;
  auto t0 = std::chrono::steady_clock::now();
  CleanMetrics clean = EvaluateClean(model, in.images, in.labels, in.device, in.batch_size);
  result["clean"] = {{"accuracy", clean.accuracy}, {"top5", clean.top5}, {"loss", clean.loss}, {"n", clean.n}};
  timings["clean"] = Seconds(t0);

  const int64_t n_all = in.images.size(0);
  const int64_t n = cfg.robustness_limit > 0 ? std::min(cfg.robustness_limit, n_all) : n_all;
  torch::Tensor images = in.images.narrow(0, 0, n), labels = in.labels.narrow(0, 0, n).to(torch::kLong);
  result["robustness_n"] = n;
  torch::Tensor clean_correct;
  if (!cfg.fgsm_eps.empty() || !cfg.pgd_eps.empty())
    clean_correct = CorrectMask(model, images, labels, in.device, in.batch_size);

  t0 = std::chrono::steady_clock::now();
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(in.seed));
  result["fgsm"] = nlohmann::json::array();
  for (double eps : cfg.fgsm_eps) {
    AttackOptions o;
    o.kind = "fgsm";
    o.eps = eps;
    result["fgsm"].push_back(
        {{"eps", eps}, {"accuracy", RobustAccuracy(model, images, labels, clean_correct, o, in.device, in.batch_size, gen)}});
  }
  timings["fgsm"] = Seconds(t0);
  t0 = std::chrono::steady_clock::now();
  result["pgd"] = nlohmann::json::array();
  for (double eps : cfg.pgd_eps) {
    AttackOptions o;
    o.kind = "pgd";
    o.eps = eps;
    o.steps = cfg.pgd_steps;
    o.step_size = eps * cfg.pgd_step_fraction;
    at::Generator pgd_gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(in.seed) + 1);
    result["pgd"].push_back({{"eps", eps},
                             {"steps", o.steps},
                             {"step_size", o.step_size},
                             {"accuracy", RobustAccuracy(model, images, labels, clean_correct, o, in.device,
                                                         in.batch_size, pgd_gen)}});
  }
  timings["pgd"] = Seconds(t0);

  if (!cfg.corruptions.empty()) {
    t0 = std::chrono::steady_clock::now();
    LCSWEEP_ASSIGN_OR_RETURN(result["corruptions"], CorruptionResults(model, cfg, in, images, labels));
    timings["corruptions"] = Seconds(t0);
  }
  if (cfg.filter_stats) {
    t0 = std::chrono::steady_clock::now();
    result["filter_stats"] = LayerFilterStats(model.SpatialLayers());
    timings["filter_stats"] = Seconds(t0);
  }
  result["timings_s"] = timings;
  return result;
}

}  // namespace

StatusOr<std::vector<std::string>> ExpandCorruptionNames(const std::vector<std::string>& names) {
  if (names.size() == 1 && names[0] == "all") return AllCorruptionNames();
  std::vector<std::string> out;
  for (const std::string& name : names) {
    auto status = SeverityParameters(name, 1);
    if (!status.ok()) return InvalidArgumentError("eval.corruptions: " + status.status().message());
    out.push_back(name);
  }
  return out;
}

StatusOr<nlohmann::json> RunEvaluation(nn::NetworkImpl& model, const EvalConfig& cfg, const EvalInputs& in) {
  try {
    return Run(model, cfg, in);
  } catch (const c10::Error& e) {
    spdlog::error("eval: libtorch error: {}", e.what_without_backtrace());
    return InternalError(std::string("evaluation failed in LibTorch: ") + e.what_without_backtrace());
  }
}

}  // namespace lcsweep::eval
