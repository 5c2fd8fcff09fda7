// The published numbers of the method's evaluation (Gavrikov & Keuper, v2:
// clean test accuracy, mean +- std over 4 seeds; docs/results.md lists the
// tables), matched on a JobConfig. The one table of them: the CLI's
// --vs-paper and the dashboard's pivot both read it.
//
// Matching has two parts. The architecture must be the published one
// (ResNet-20-16, 3x3, kaiming_uniform, no sharing; LC at E = 128 with no
// intermediate op, or E = 64 with an intermediate op on CIFAR-10; plain
// learned conv; ResNet-18d on ImageNet), else there is no number and
// `mismatch` says why. The recipe may differ (fewer epochs, a data limit,
// another learning rate, ...): the number is still given, and
// `recipe_differences` lists each difference, so a view can say why its
// own figure is not expected to reach it.
//
// Units: fractions, like the figure they compare with (kPublishedFigure,
// i.e. final.test_accuracy). A table that gives no std has std = nullopt.
// Thread-safety: pure functions over constant tables.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/job_config.h"

namespace lcsweep::analysis {

// Seeds behind every published mean +- std.
inline constexpr int64_t kPublishedSeeds = 4;

struct PublishedNumber {
  double mean = 0;                  // fraction
  std::optional<double> std;        // fraction; nullopt when not published
  std::string source;               // e.g. "Table 1: ResNet-20-16, CIFAR-10, LC frozen x128, 4 seeds"
};

struct PublishedMatch {
  std::optional<PublishedNumber> number;
  std::string mismatch;                     // why there is no number ("" when there is one)
  std::vector<std::string> recipe_differences;  // e.g. "train.epochs 2 (paper: 75)"
};

PublishedMatch MatchPublished(const JobConfig& config);

// "" when `figure` is comparable with the published numbers, else why not
// (e.g. evaluation.clean.accuracy is measured on a subset of the test set).
std::string PublishedComparability(const std::string& figure);

// {"mean", "std" (null when none), "source", "recipe_differences": [...]}.
nlohmann::json PublishedJson(const PublishedNumber& number, const std::vector<std::string>& recipe_differences);

}  // namespace lcsweep::analysis
