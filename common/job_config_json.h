// JSON form of JobConfig: strict parsing with field-path errors, validation
// of ranges and impossible combinations, the canonical form and its hashes.
//
// Strictness (what JobConfigFromJson rejects, all errors at once):
//   - unknown keys (the error lists the allowed keys and suggests the closest),
//   - wrong types (an integer field accepts 3 and 3.0, not 3.5 or "3"),
//   - out-of-range values (see ValidateJobConfig),
//   - impossible combinations:
//       * conv.mode "learned"/"frozen" (plain convs) with lc_rate, spatial,
//         intermediate or execution other than their defaults (1, "frozen",
//         "none", "auto"): those settings exist only for LC blocks, and
//         forcing the defaults keeps one hash per distinct model;
//       * execution "folded" with intermediate != "none": folding needs the
//         block to be linear (docs/method.md section 1);
//       * execution "reduced" with spatial "learned", intermediate != "none"
//         or an optimizer outside the SGD family (docs/reduced_lc.md);
//       * sharing != "none" when the spatial filters are learned (mode
//         "learned", or mode "lc" with spatial "learned"): sharing ties one
//         frozen random tensor across layers (docs/method.md section 3). It is
//         allowed for mode "lc" + spatial "frozen" and for mode "frozen", and
//         with any init (the shared tensor is drawn with that init).
//         "Sharing with mixed kernel sizes" cannot be written: kernel_size is
//         one value for the whole network (model.kernel_size);
//       * resnet_cifar needs depth = 6n+2 (n >= 1); resnet18d needs depth 18
//         and width 64;
//       * resources.device "cpu" with min_gpu_memory_gb > 0, amp or
//         channels_last (CUDA-only settings);
//       * nesterov with momentum 0; warmup_epochs > epochs;
//       * eval.corruptions "all" together with other names.
// Missing keys take the defaults of job_config.h.
//
// Normalisation (applied by JobConfigFromJson and by CanonicalJobJson):
// eval lists (fgsm_eps, pgd_eps, corruptions, severities) are sorted, the
// full list of 19 corruptions becomes {"all"}, and -0.0 becomes 0.0.
//
// Canonical form: JobConfigToJson of the normalised config, keys sorted,
// compact, doubles as doubles (1 and 1.0 in a double field are the same) and
// integers as integers. Hashes are lower-case hex SHA-256 of its identity
// part (common/job_identity.h: the run settings such as train.threads or
// resources.device are left out), so two configs that differ only in run
// settings have one hash and are one job.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/field_errors.h"
#include "common/job_config.h"
#include "common/status.h"

namespace lcsweep {

// eval.corruptions names (docs/method.md section 6); "all" selects every one.
inline constexpr const char* kCorruptionNames[] = {
    "gaussian_noise", "shot_noise",   "impulse_noise", "speckle_noise",     "defocus_blur",
    "glass_blur",     "motion_blur",  "zoom_blur",     "gaussian_blur",     "snow",
    "frost",          "fog",          "brightness",    "contrast",          "elastic_transform",
    "pixelate",       "jpeg_compression", "spatter",   "saturate"};

enum class JobCheck {
  kFull,        // fields, ranges and combinations
  kFieldsOnly,  // types, unknown keys and per-field ranges; no cross-field rules
};

// Strict; missing keys take defaults. On error: INVALID_ARGUMENT listing every
// problem, one per line "path: found X; expected Y", paths relative to the
// job config (e.g. "model.conv.lc_rate").
StatusOr<JobConfig> JobConfigFromJson(const nlohmann::json& j);

// Structured variant: returns the config parsed as far as possible (fields
// with errors keep their defaults) and appends every problem to *errors.
// The result is valid iff no error was appended.
JobConfig JobConfigFromJsonWithErrors(const nlohmann::json& j, std::vector<FieldError>* errors,
                                      JobCheck check = JobCheck::kFull);

// Every field explicit (the full tree of job_config.h).
nlohmann::json JobConfigToJson(const JobConfig& c);

// Range and combination checks on a config built in code (JobConfigFromJson
// runs them too). Appends to *errors with paths as above.
void ValidateJobConfig(const JobConfig& c, std::vector<FieldError>* errors,
                       JobCheck check = JobCheck::kFull);
Status ValidateJobConfig(const JobConfig& c);

// Sorts the eval lists etc. (see above). Idempotent.
void NormalizeJobConfig(JobConfig* c);

// Sorted keys, normalised numbers, compact.
std::string CanonicalJobJson(const JobConfig& c);
// The canonical text of an already normalised JobConfigToJson tree (what
// CanonicalJobJson does after normalising; lets callers that hold the tree
// skip a second conversion).
std::string CanonicalJsonOf(const nlohmann::json& config_json);
// Hex SHA-256 of the canonical text of IdentityJson(c) (common/job_identity.h).
std::string JobConfigHash(const JobConfig& c);
// Same with "seed" removed: equal for the seeds of one setting (mean/std groups).
std::string JobGroupHash(const JobConfig& c);

// Dotted paths of every leaf field ("seed", "model.conv.lc_rate",
// "eval.fgsm_eps", ...), sorted. These are what sweeps may address.
const std::vector<std::string>& JobConfigLeafPaths();

}  // namespace lcsweep
