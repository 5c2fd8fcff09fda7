// JobConfig: one fully explicit training job, the unit that a sweep expands
// into, the coordinator queues and a worker runs. Every axis of the shared
// docs/method.md is a field here, with the paper's recipe as the default value.
//
// The JSON form (see job_config_json.h) mirrors these structs field by field:
//   {"seed": 0,
//    "data":  {"name": "fashion_mnist", "root": "", ...},
//    "model": {"arch": "resnet_cifar", "depth": 20, "width": 16, "kernel_size": 3,
//              "conv": {"mode": "lc", "lc_rate": 8, "spatial": "frozen", ...}},
//    "train": {...}, "eval": {...}, "resources": {...}, "checkpoint": {...}}
// Dotted paths such as "model.conv.lc_rate" address fields in sweeps.
//
// Plain value types; no invariants are enforced by the structs themselves:
// ValidateJobConfig (job_config_json.h) is the single place that checks them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lcsweep {

// data.name values.
inline constexpr const char* kDataSets[] = {"cifar10", "cifar100", "fashion_mnist", "mnist",
                                            "svhn",    "imagenet", "synthetic"};

struct SyntheticDataConfig {
  int64_t train_size = 2048;  // images
  int64_t test_size = 512;
  int64_t image_size = 32;    // square images
  int64_t channels = 3;
  int64_t classes = 10;
  double noise = 0.5;         // std of the pixel noise on top of the class pattern
};

struct DataConfig {
  std::string name = "fashion_mnist";
  // Folder with the data set's files in their published layout. Empty means
  // the default location (for fashion_mnist: /usr/share/datasets/fashion-mnist).
  std::string root;
  bool augment = true;              // the paper's train augmentation for this data set
  int64_t train_limit = 0;          // use only the first N training images (0 = all)
  int64_t test_limit = 0;           // use only the first N test images (0 = all)
  int64_t loader_threads = 2;       // decoding/augmentation threads
  int64_t image_size = 224;         // imagenet only: train/eval crop size
  std::string on_bad_image = "skip";  // imagenet JPEGs: "skip" (count them) or "fail"
  // Where batches are assembled (common/data_placement.h): "host" (loader
  // threads), "device" (the decoded sets kept on the training device; not for
  // imagenet) or "auto" (device on CUDA for in-memory sets, host otherwise).
  // Batches are identical either way.
  std::string placement = "auto";
  SyntheticDataConfig synthetic;
};

struct ConvConfig {
  // "lc" (S then P), "learned" (plain k x k conv, trained), "frozen" (plain conv kept at init).
  std::string mode = "lc";
  int64_t lc_rate = 1;                    // E >= 1; only for mode "lc"
  std::string spatial = "frozen";         // "frozen" | "learned"; only for mode "lc"
  // "kaiming_uniform" | "kaiming_normal" | "uniform" | "normal" | "orthogonal" | "sign" | "gaussian_envelope"
  std::string init = "kaiming_uniform";
  std::string sharing = "none";           // "none" | "global" | "per_stage"
  std::string intermediate = "none";      // "none" | "relu" | "bn" | "bn_relu"
  // "auto" | "folded" | "unfolded" | "reduced" (frozen S, intermediate "none",
  // optimizer "sgd": trains Q = P . U instead of P, docs/reduced_lc.md);
  // "auto" takes the cheapest valid one for training.
  std::string execution = "auto";
};

struct ModelConfig {
  std::string arch = "resnet_cifar";  // "resnet_cifar" | "resnet18d"
  int64_t depth = 20;                 // resnet_cifar: 6n + 2
  int64_t width = 16;                 // resnet_cifar: channels of stage 1; resnet18d: 64
  int64_t kernel_size = 3;            // 3 | 5 | 7 | 9, every spatial conv
  ConvConfig conv;
};

struct TrainConfig {
  int64_t epochs = 75;
  int64_t batch_size = 256;
  std::string optimizer = "sgd";      // "sgd"
  double lr = 0.01;
  double momentum = 0.9;
  bool nesterov = true;
  double weight_decay = 0.01;         // on trained tensors only
  std::string schedule = "cosine";    // "cosine" | "step" | "constant"; stepped every iteration
  double step_gamma = 0.1;            // "step": lr *= gamma every step_epochs
  int64_t step_epochs = 30;
  int64_t warmup_epochs = 0;          // linear warm-up, in epochs (0 = none, the paper's)
  double label_smoothing = 0.1;
  int64_t threads = 0;                // CPU threads for LibTorch (0 = all cores)
  bool amp = false;                   // mixed precision (CUDA only)
  bool channels_last = false;         // memory format (CUDA only)
  int64_t log_every_steps = 20;       // per-step progress cadence
};

struct EvalConfig {
  std::vector<double> fgsm_eps = {1.0 / 255};  // [0,1] pixel space
  std::vector<double> pgd_eps = {};
  int64_t pgd_steps = 40;
  double pgd_step_fraction = 1.0 / 30;         // step size = eps * fraction
  std::vector<std::string> corruptions = {};   // names from docs/method.md section 6, or {"all"}
  std::vector<int64_t> severities = {1, 2, 3, 4, 5};
  std::string corruptions_root;                // folder with CIFAR-10-C .npy files (optional)
  int64_t robustness_limit = 1000;             // test images used for attacks/corruptions (0 = all)
  bool filter_stats = true;
};

struct ResourcesConfig {
  std::string device = "any";       // "cpu" | "cuda" | "any"
  double min_gpu_memory_gb = 0;     // only for cuda
};

struct CheckpointConfig {
  int64_t every_epochs = 1;         // 0 = only on request (drain)
};

struct JobConfig {
  int64_t seed = 0;  // drives init, frozen filters, data order and augmentation
  DataConfig data;
  ModelConfig model;
  TrainConfig train;
  EvalConfig eval;
  ResourcesConfig resources;
  CheckpointConfig checkpoint;
};

}  // namespace lcsweep
