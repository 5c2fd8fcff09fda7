// The sweep spec language: a JSON document that names a base job config and
// one way to expand it into jobs. Parsing is strict and reports every problem
// of the document at once, each with its path inside the sweep document
// (notation in field_errors.h), e.g.
//   grid["model.conv.lc_rate"][3]: found -2; expected an integer in [1, 4096]
//   base.model.conv.intermdiate: found an unknown key; expected one of ...; did you mean "intermediate"?
//
// Document:
//   {"name": "lc_rate_curve",            required; [A-Za-z0-9._-], 1..128 chars
//    "description": "...",               optional
//    "base": {partial job config},       optional (defaults of job_config.h); no "seed"
//    exactly one of:
//      "grid":       {"model.conv.lc_rate": [1, 2, 4], "model.conv.spatial": ["frozen", "learned"]}
//                    cartesian product of the axes;
//      "list":       [{"model.conv.mode": "learned"}, {"model.conv.lc_rate": 128}]
//                    one job per entry, each the base plus that entry's overrides;
//      "one_factor": {"model.conv.init": ["normal", "sign"], "model.kernel_size": [5, 7]}
//                    the base once, plus each axis varied alone; values that
//                    give the base job again are skipped (not duplicated);
//      "random":     {"samples": 20, "seed": 0,
//                     "axes": {"train.lr": {"log_uniform": [0.001, 0.1]},
//                              "train.weight_decay": {"uniform": [0, 0.05]},
//                              "model.conv.lc_rate": {"int": [1, 16]},
//                              "model.conv.spatial": ["frozen", "learned"]}}
//                    `samples` draws (1..max_jobs), each the base plus one value
//                    per axis; "seed" (default 0) seeds the draws, not the jobs.
//                    Reproducible from the spec alone: one SplitMix64
//                    (common/splitmix64.h) seeded with `seed`, draws in sample
//                    order and, within a sample, in axis path order (sorted),
//                    one per axis: a list takes element Below(size); "int"
//                    lo + Below(hi - lo + 1) (both ends included); "uniform"
//                    lo + (hi - lo) * Uniform(); "log_uniform" (0 < lo)
//                    exp(log lo + (log hi - log lo) * Uniform()). Uniform and
//                    log-uniform values are rounded to 6 significant digits
//                    (%.6g), so another libm's last-bit differences in exp/log
//                    do not change a job. "uniform"/"log_uniform" need a
//                    floating-point field ("int" for integer fields). Draws
//                    that give the same job (the semantic hash) are collapsed
//                    like any duplicate: a sweep has at most `samples` settings;
//    "seeds": [0, 1, 2, 3],              optional, default [0]; crossed with everything
//                                        (random: every sample runs every seed)
//    "priority": 0, "max_attempts": 3,   optional ints (priority in [kMinPriority,
//                                        kMaxPriority], max_attempts in [1, 100])
//    "tags": ["paper", "table1"],        optional distinct strings
//    "early_stopping": {...}}            optional (common/early_stopping.h)
// Size limits (common/limits.h): the text at most kMaxSpecBytes and
// kMaxSpecDepth levels deep (checked before parsing), name kMaxSweepNameBytes,
// description kMaxDescriptionBytes, at most kMaxTags tags of kMaxTagBytes.
// Axis keys are dotted paths to single fields of the job config (see
// JobConfigLeafPaths); "seed" is not an axis key (use "seeds").
//
// Every expanded job is fully explicit and validated as a whole (so
// combinations such as execution "folded" x intermediate "relu" are caught
// at the axis value that makes them impossible). Jobs with the same hash are
// collapsed; the count and which ones are in Sweep::duplicates / notes.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/early_stopping.h"
#include "common/field_errors.h"
#include "common/job_config.h"
#include "common/limits.h"
#include "common/status.h"

namespace lcsweep {


struct SweepLimits {
  size_t max_jobs = kMaxSweepJobs;  // before duplicate collapsing
};

struct ExpandedJob {
  JobConfig config;
  nlohmann::json config_json;  // JobConfigToJson(config)
  std::string canonical_json;  // CanonicalJobJson(config)
  std::string hash;            // JobConfigHash(config)
  std::string group_hash;      // JobGroupHash(config)
  // The value of every axis path of the sweep in this job, plus "seed".
  std::map<std::string, nlohmann::json> axes;
  std::string origin;          // where in the document it came from, e.g. "list[2], seeds[1]"
};

struct Sweep {
  std::string name;
  std::string description;
  int64_t priority = 0;
  int64_t max_attempts = 3;
  std::vector<std::string> tags;
  std::optional<EarlyStopping> early_stopping;  // opted in
  nlohmann::json spec;                  // the document as given
  std::string expansion;                // "grid" | "list" | "one_factor" | "random"
  std::vector<ExpandedJob> jobs;        // distinct by hash, in expansion order
  std::vector<std::string> axis_paths;  // sorted dotted paths (without "seed")
  int64_t duplicates = 0;               // jobs collapsed because an earlier one had their hash
  std::vector<std::string> notes;       // human-readable: which jobs were collapsed
};

struct SweepParseResult {
  std::optional<Sweep> sweep;     // set iff errors is empty
  std::vector<FieldError> errors;
};

StatusOr<Sweep> ParseSweep(const nlohmann::json& doc, const SweepLimits& limits = {});
// JSON syntax errors name the line, column and byte offset, and the path of
// the value being read when it happened (a number out of range, say, is
// reported at that number's field); duplicate keys inside one object are
// rejected at the key's path (JSON would silently keep the last one).
StatusOr<Sweep> ParseSweepText(std::string_view text, const SweepLimits& limits = {});

SweepParseResult ParseSweepWithErrors(const nlohmann::json& doc, const SweepLimits& limits = {});
SweepParseResult ParseSweepTextWithErrors(std::string_view text, const SweepLimits& limits = {});

}  // namespace lcsweep
