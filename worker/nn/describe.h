// Model accounting, computed by walking the built model's modules (never a
// second copy of the architecture's formulas): parameter counts and MACs per
// image, totals and per layer. `lcsweep-train describe JOB.json` prints
// DescribeModel's JSON so users can size a sweep before running it.
//
// Parameter fields (numbers of scalars):
//   total      every weight of the model as a function: learned + frozen
//              (with sharing, each layer's slice of T counts, like an
//              unshared model)
//   learned    the learned weights of the model as a function (P, learned S
//              or plain weights, BN affine, shortcut convs, classifier):
//              E*c_out^2 per LC block's P whatever the execution
//   trained    what the optimizer holds (parameters()): = learned, except
//              that a reduced LC block trains Q [c_out, c_in*k^2] and a
//              scalar c instead of P (docs/reduced_lc.md)
//   frozen     frozen spatial filters, per layer
//   stored     what a file holding every weight stores: learned + frozen,
//              with a shared tensor T counted once
//   stored_frozen_regenerated
//              the same when frozen filters are regenerated from the seed
//              (what lcsweep checkpoints hold): frozen counts 0, = trained
//   trained_state_bytes
//              memory of the trained state in float32: the trained tensors
//              and their momentum buffers (2 * trained * 4 bytes)
// BN running statistics are buffers, not parameters, and are not counted.
// MACs per image (multiply-accumulates of the forward pass; a training step
// costs about 3x that in any mode):
//   train_folded    convs with W = P . S, plus the fold's own product
//                   (c_out * c_out*E * c_in*k^2 per step) divided by batch_size
//   train_unfolded  S conv + P conv per LC layer (for a layer with an
//                   intermediate op, train_folded equals it: it cannot fold)
//   train_reduced   convs with W = Q . R plus that product (c_out * n^2,
//                   n = c_in*k^2) divided by batch_size; = train_folded for
//                   layers where reduced is invalid or m <= n
//   train           of the execution each layer actually runs
//   inference       after fold-for-inference (unfolded for intermediate ops)
//   fold_per_step   the folded products P . S, once per step
//   fold_reduced_per_step  the reduced products Q . R, once per step
// BN, ReLU and pooling are not counted.
// Thread-safety: pure functions (each builds its own model).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "common/job_config.h"
#include "common/status.h"
#include "worker/nn/network.h"

namespace lcsweep::nn {

struct LayerAccount {
  std::string name;
  std::string kind;  // "spatial" (LcConv2d), "conv" (1x1 shortcut), "bn", "linear"
  std::string mode;  // spatial layers: learned | frozen | lc
  std::string execution;
  int64_t in_channels = 0, out_channels = 0, kernel_size = 0, stride = 1, lc_rate = 1;
  int64_t input_size = 0, output_size = 0;
  int64_t params_total = 0, params_learned = 0, params_frozen = 0, params_trained = 0;
  int64_t train_macs_folded = 0, train_macs_unfolded = 0, train_macs_reduced = 0, train_macs = 0,
          inference_macs = 0;
  int64_t fold_macs = 0, fold_macs_reduced = 0;
};

struct ModelAccount {
  int64_t params_total = 0, params_learned = 0, params_frozen = 0, params_trained = 0;
  int64_t params_stored = 0, params_stored_frozen_regenerated = 0;
  int64_t train_macs_folded = 0, train_macs_unfolded = 0, train_macs_reduced = 0, train_macs = 0,
          inference_macs = 0;
  int64_t fold_macs_per_step = 0, fold_reduced_macs_per_step = 0;
  std::vector<LayerAccount> layers;  // in module order
};

// Walks `network` (a model of the registry). INTERNAL if a module with
// parameters is of a kind the walk does not know, or if the per-layer sum
// of trained parameters disagrees with parameters().
StatusOr<ModelAccount> AccountModel(NetworkImpl& network);

// Builds the model and returns its accounting as JSON (spec echo,
// "parameters", "macs_per_image", "layers", "notes").
StatusOr<nlohmann::json> DescribeModel(const ModelSpec& spec);

// The ModelSpec of a job: its model section, the data set's channels,
// classes, image size and normalisation (GetDataSetInfo), its seed and
// train.batch_size and train.optimizer. INVALID_ARGUMENT for an unknown data set.
StatusOr<ModelSpec> ModelSpecForJob(const JobConfig& job);

}  // namespace lcsweep::nn
