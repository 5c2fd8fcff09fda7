// The schema of a job's result document: the names of its figures, which
// figure is shown by default, and how each figure is shown (unit, percent,
// digits, direction). The one home of "what is an accuracy" and "which
// accuracy compares with the published numbers" for the CLI, the dashboard
// API and (through SchemaJson, served at /api/v1/schema) the dashboard's
// JavaScript.
//
// The result document is what worker/train's RunJob returns (see
// worker/train/trainer.h). Flattened (analysis/flatten.h), its figures are
// named by dotted paths; array elements are labelled by their identifying
// keys, e.g. "evaluation.fgsm[eps=0.00392157].accuracy". The two accuracies
// people confuse:
//   final.test_accuracy        the last epoch's test on the FULL test set
//                              (data.test_limit images when that is set);
//                              the paper's numbers are of this kind.
//   evaluation.clean.accuracy  the final evaluation's clean pass over the
//                              first eval.robustness_limit test images (1,000
//                              by default), the baseline of the attacks and
//                              corruptions, not of the paper's tables.
//
// Thread-safety: constants and pure functions.
#pragma once

#include <set>
#include <string>

#include <nlohmann/json.hpp>

namespace lcsweep::analysis {

// Top-level sections of the result document that are not figures: the echo
// of the job's config (the axes say it) and the per-epoch history (the
// metric series hold it). FlattenResult leaves them out.
inline constexpr const char* kConfigEchoSection = "job";
inline constexpr const char* kHistorySection = "history";

// "final": the last epoch.
inline constexpr const char* kFinalTestAccuracy = "final.test_accuracy";
inline constexpr const char* kFinalTestTop5 = "final.test_top5";
inline constexpr const char* kFinalTestLoss = "final.test_loss";
inline constexpr const char* kFinalTestN = "final.test_n";
inline constexpr const char* kFinalTrainAccuracy = "final.train_accuracy";
inline constexpr const char* kFinalTrainLoss = "final.train_loss";
// "evaluation": worker/eval's RunEvaluation on the first robustness_limit images.
inline constexpr const char* kEvaluationSection = "evaluation";
inline constexpr const char* kEvalCleanAccuracy = "evaluation.clean.accuracy";
inline constexpr const char* kEvalCleanTop5 = "evaluation.clean.top5";
inline constexpr const char* kEvalCleanLoss = "evaluation.clean.loss";
inline constexpr const char* kEvalCleanN = "evaluation.clean.n";
inline constexpr const char* kEvalRobustnessN = "evaluation.robustness_n";
inline constexpr const char* kEvalFgsm = "evaluation.fgsm";              // [{eps, accuracy}]
inline constexpr const char* kEvalPgd = "evaluation.pgd";                // [{eps, steps, step_size, accuracy}]
inline constexpr const char* kEvalCorruptions = "evaluation.corruptions";  // {name: [acc per severity], severities, mean}
inline constexpr const char* kEvalCorruptionMean = "evaluation.corruptions.mean";
inline constexpr const char* kEvalFilterStats = "evaluation.filter_stats";  // [{name, index, S|P|folded: {...}}]
// "model": nn::DescribeModel's accounting.
inline constexpr const char* kModelParameters = "model.parameters";
inline constexpr const char* kModelMacs = "model.macs_per_image";
// Run bookkeeping.
inline constexpr const char* kSteps = "steps";
inline constexpr const char* kTrainThroughput = "throughput.train_images_per_second";
inline constexpr const char* kTotalSeconds = "timings_s.total";

// The figure a results view shows when none is asked for, and the only one
// the published numbers are compared with.
inline constexpr const char* kDefaultFigure = kFinalTestAccuracy;
inline constexpr const char* kPublishedFigure = kFinalTestAccuracy;

// How a figure is shown.
enum class Unit { kFraction, kLoss, kCount, kSeconds, kRate, kLearningRate, kOther };
struct FigureFormat {
  Unit unit = Unit::kOther;
  bool percent = false;         // fractions shown as percent (x 100)
  int digits = 4;               // decimals in human formats (after the x 100)
  bool higher_is_better = true;
  std::string measured_on;      // e.g. "full test set", "first robustness_limit test images"; "" = n/a
};

// A unit's name in the schema JSON ("fraction", "loss", "count", "seconds", "rate", "lr", "other").
const char* UnitName(Unit unit);

// The format of figure `name` (any flattened name, known or not).
FigureFormat DescribeFigure(const std::string& name);

// True for figures that are accuracies (fractions of correctly classified
// images): the single rule behind "show in percent".
bool IsAccuracy(const std::string& name);

// The figure to show among `present`: kDefaultFigure, else
// evaluation.clean.accuracy, else the first accuracy outside an array,
// else the first name; "" when `present` is empty.
std::string DefaultFigure(const std::set<std::string>& present);

// Live metric series (what workers report while training, see
// worker/runner/trainer_job_runner.cc) and progress counters that are not
// series ("epochs", "total_steps": numbers in the job's progress, never
// plotted as curves).
bool IsProgressCounter(const std::string& metric_name);
Unit SeriesUnit(const std::string& metric_name);

// The schema as JSON, for clients that read result documents themselves:
//   {"version", "default_figure", "published_figure",
//    "sections": {"fgsm": "evaluation.fgsm", ...}  (dotted paths into the document),
//    "figures": [{"name", "unit", "percent", "digits", "higher_is_better", "measured_on"}],
//    "series": {"units": {"train.step_loss": "loss", ...}, "progress_counters": [...]}}
nlohmann::json SchemaJson();

// {"unit", "percent", "digits", "higher_is_better", "measured_on"} of `name`.
nlohmann::json FigureFormatJson(const std::string& name);

}  // namespace lcsweep::analysis
