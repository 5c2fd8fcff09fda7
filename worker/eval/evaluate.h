// The evaluation suite of docs/method.md section 6 as one call: clean metrics,
// FGSM and PGD robust accuracy, corruption accuracy (generated, or the
// published CIFAR-10-C .npy files when eval.corruptions_root is set) and
// filter statistics per spatial layer.
//
// RunEvaluation puts the model in eval mode (BatchNorm uses running
// statistics) and restores its previous mode before returning. It never
// changes parameters. Attacks and corruptions use the first
// cfg.robustness_limit images (0 = all). Results are deterministic for
// EvalInputs.seed (PGD random starts and corruption noise are drawn from CPU
// generators seeded from it).
//
// Result JSON:
//   {"clean": {"accuracy", "top5", "loss", "n"},
//    "robustness_n": images used for attacks and corruptions,
//    "fgsm": [{"eps", "accuracy"}...],
//    "pgd": [{"eps", "accuracy", "steps", "step_size"}...],
//    "corruptions": {"<name>": [accuracy per severity in cfg.severities], ...,
//                    "severities": [...], "mean": mean over every value,
//                    "source": "generated" | "npy", "omitted": {"<name>": reason}}
//                   (absent when cfg.corruptions is empty),
//    "filter_stats": [{name, index, S, P, folded}] (see filter_stats.h; absent
//                    when cfg.filter_stats is false),
//    "timings_s": {"clean", "fgsm", "pgd", "corruptions", "filter_stats"}}
// Errors: INVALID_ARGUMENT for bad inputs or config (unknown corruption,
// mismatched shapes); NOT_FOUND / DATA_LOSS naming the file for missing or
// broken .npy files; INTERNAL for a LibTorch error.
// Thread-safety: uses the model; not safe concurrently with other users of it.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include <nlohmann/json.hpp>

#include "common/job_config.h"
#include "common/status.h"
#include "worker/eval/clean.h"
#include "worker/nn/network.h"

namespace lcsweep::eval {

struct EvalInputs {
  torch::Tensor images;  // float [N,C,H,W] in [0,1], CPU
  torch::Tensor labels;  // int64 [N]
  torch::Device device = torch::kCPU;
  int64_t batch_size = 256;
  int64_t seed = 0;
};

StatusOr<nlohmann::json> RunEvaluation(nn::NetworkImpl& model, const EvalConfig& cfg, const EvalInputs& in);

// Expands cfg.corruptions ({"all"} = the 19 of docs/method.md) and checks names.
StatusOr<std::vector<std::string>> ExpandCorruptionNames(const std::vector<std::string>& names);

}  // namespace lcsweep::eval
