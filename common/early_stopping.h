// EarlyStopping: the sweep spec's opt-in "early_stopping" object (parsed
// here, applied by the coordinator's EarlyStopper, server/core/early_stopper.h).
//
//   "early_stopping": {
//     "rule": "median" | "seeds",        required
//     "metric": "test.accuracy",         an epoch-level metric the trainer reports
//                                        (test.accuracy, test.loss, train.loss, train.accuracy)
//     "mode": "max" | "min",             default "max" ("min" for a loss)
//     // rule "median" (per attempt): after `grace_epochs` epochs, an attempt
//     // whose metric at epoch e is worse than the median of the other arms'
//     // values at e (each arm: the mean over its jobs that reached e) by more
//     // than `margin` is stopped; needs at least `min_arms` other arms at e.
//     "grace_epochs": 1, "min_arms": 2, "margin": 0,
//     // rule "seeds" (per arm): once an arm and the best arm each finished
//     // `min_seeds` seeds, the arm's remaining jobs are stopped when a
//     // one-sided Welch test says it is worse than the best arm at level
//     // `alpha` divided by the arm's number of seeds (a Bonferroni bound over
//     // the looks a sequential test takes: one per finished seed).
//     "min_seeds": 2, "alpha": 0.05
//   }
// An arm is a seed group (configs equal but for the seed). Every error is
// reported with its path ("early_stopping.grace_epochs: found -1; ...").
// Thread-safety: values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/field_errors.h"

namespace lcsweep {

struct EarlyStopping {
  enum class Rule { kMedian, kSeeds };
  Rule rule = Rule::kMedian;
  std::string metric = "test.accuracy";
  bool maximize = true;
  int64_t grace_epochs = 1;
  int64_t min_arms = 2;
  double margin = 0;
  int64_t min_seeds = 2;
  double alpha = 0.05;
};

// The metrics a rule may watch: the trainer reports each once per epoch.
const std::vector<std::string>& EarlyStoppingMetrics();

// Parses `value` (the "early_stopping" member) and appends every problem to
// `errors` under `path`; nullopt when there were any.
std::optional<EarlyStopping> ParseEarlyStopping(const nlohmann::json& value,
                                                const std::string& path, FieldErrors* errors);

// The same from a stored sweep spec's text: nullopt when the spec has no
// (valid) "early_stopping" member.
std::optional<EarlyStopping> EarlyStoppingOfSpec(const std::string& spec_json);

}  // namespace lcsweep
