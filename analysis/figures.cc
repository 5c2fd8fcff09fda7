// The result schema's rules (see figures.h).
#include "analysis/figures.h"

namespace lcsweep::analysis {
namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
bool StartsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// The last path component, without an array label: "a.b[eps=1].accuracy" ->
// "accuracy" ("/" separates too: other reporters name series "train/loss").
std::string Leaf(const std::string& name) {
  const size_t dot = name.find_last_of("./");
  std::string leaf = dot == std::string::npos ? name : name.substr(dot + 1);
  const size_t bracket = leaf.find('[');
  return bracket == std::string::npos ? leaf : leaf.substr(0, bracket);
}

// A corruption's per-severity accuracies: "evaluation.corruptions.fog[2]".
bool IsCorruptionAccuracy(const std::string& name) {
  const std::string prefix = std::string(kEvalCorruptions) + ".";
  return StartsWith(name, prefix) && name.find('[') != std::string::npos &&
         !StartsWith(name, prefix + "severities[");
}

// Known figures named in the schema JSON (the families below cover the rest).
const char* const kKnownFigures[] = {
    kFinalTestAccuracy, kFinalTestTop5, kFinalTestLoss, kFinalTestN,       kFinalTrainAccuracy,
    kFinalTrainLoss,    kEvalCleanAccuracy, kEvalCleanTop5, kEvalCleanLoss, kEvalCleanN,
    kEvalRobustnessN,   kEvalCorruptionMean, kSteps,       kTrainThroughput, kTotalSeconds};

// Names the trainer reports as series, by unit (worker/runner/trainer_job_runner.cc).
struct SeriesName {
  const char* name;
  Unit unit;
};
constexpr SeriesName kSeries[] = {
    {"train.step_loss", Unit::kLoss},        {"train.step_accuracy", Unit::kFraction},
    {"train.lr", Unit::kLearningRate},              {"train.images_per_second", Unit::kRate},
    {"train.loss", Unit::kLoss},             {"train.accuracy", Unit::kFraction},
    {"test.loss", Unit::kLoss},              {"test.accuracy", Unit::kFraction},
    {"test.top5", Unit::kFraction},          {"epoch.seconds", Unit::kSeconds},
    {"epoch.images_per_second", Unit::kRate}};
constexpr const char* kProgressCounters[] = {"epochs", "total_steps"};

}  // namespace

const char* UnitName(Unit unit) {
  switch (unit) {
    case Unit::kFraction: return "fraction";
    case Unit::kLoss: return "loss";
    case Unit::kCount: return "count";
    case Unit::kSeconds: return "seconds";
    case Unit::kRate: return "rate";
    case Unit::kLearningRate: return "lr";
    case Unit::kOther: return "other";
  }
  return "other";
}

bool IsAccuracy(const std::string& name) {
  const std::string leaf = Leaf(name);
  if (EndsWith(leaf, "accuracy") || leaf == "acc" || EndsWith(leaf, "_acc") || leaf == "top5" ||
      leaf == "test_top5")
    return true;
  if (name == kEvalCorruptionMean) return true;
  return IsCorruptionAccuracy(name);
}

FigureFormat DescribeFigure(const std::string& name) {
  FigureFormat f;
  const std::string leaf = Leaf(name);
  if (IsAccuracy(name)) {
    f.unit = Unit::kFraction;
    f.percent = true;
    f.digits = 2;
  } else if (EndsWith(leaf, "loss")) {
    f.unit = Unit::kLoss;
    f.higher_is_better = false;
  } else if (StartsWith(name, "timings_s.") || StartsWith(name, std::string(kEvaluationSection) + ".timings_s.") ||
             EndsWith(leaf, "seconds")) {
    f.unit = Unit::kSeconds;
    f.digits = 1;
    f.higher_is_better = false;
  } else if (EndsWith(leaf, "per_second") || EndsWith(leaf, "per_s")) {
    f.unit = Unit::kRate;
    f.digits = 0;
  } else if (leaf == "n" || EndsWith(leaf, "_n") || leaf == kSteps || StartsWith(name, std::string(kModelParameters) + ".") ||
             StartsWith(name, std::string(kModelMacs) + ".") || EndsWith(leaf, "_size")) {
    f.unit = Unit::kCount;
    f.digits = 0;
    // Fewer weights and MACs are the point of the method.
    f.higher_is_better = !(StartsWith(name, std::string(kModelParameters) + ".") ||
                           StartsWith(name, std::string(kModelMacs) + "."));
  }
  if (StartsWith(name, "final.test_")) f.measured_on = "full test set (data.test_limit images when set)";
  if (StartsWith(name, std::string(kEvaluationSection) + ".") && f.unit == Unit::kFraction) {
    f.measured_on = "first eval.robustness_limit test images";
  }
  return f;
}

std::string DefaultFigure(const std::set<std::string>& present) {
  if (present.count(kDefaultFigure)) return kDefaultFigure;
  if (present.count(kEvalCleanAccuracy)) return kEvalCleanAccuracy;
  for (const auto& n : present) {
    if (IsAccuracy(n) && n.find('[') == std::string::npos) return n;
  }
  return present.empty() ? "" : *present.begin();
}

bool IsProgressCounter(const std::string& metric_name) {
  for (const char* c : kProgressCounters) {
    if (metric_name == c) return true;
  }
  return false;
}

Unit SeriesUnit(const std::string& metric_name) {
  for (const auto& s : kSeries) {
    if (metric_name == s.name) return s.unit;
  }
  // Series of other reporters: the figure rules by name.
  const std::string leaf = Leaf(metric_name);
  if (leaf == "lr" || leaf == "learning_rate") return Unit::kLearningRate;
  const Unit u = DescribeFigure(metric_name).unit;
  return u == Unit::kCount ? Unit::kOther : u;
}

nlohmann::json FigureFormatJson(const std::string& name) {
  const FigureFormat f = DescribeFigure(name);
  return nlohmann::json{{"unit", UnitName(f.unit)},
                        {"percent", f.percent},
                        {"digits", f.digits},
                        {"higher_is_better", f.higher_is_better},
                        {"measured_on", f.measured_on}};
}

nlohmann::json SchemaJson() {
  nlohmann::json figures = nlohmann::json::array();
  for (const char* name : kKnownFigures) {
    nlohmann::json f = FigureFormatJson(name);
    f["name"] = name;
    figures.push_back(std::move(f));
  }
  nlohmann::json units = nlohmann::json::object();
  for (const auto& s : kSeries) units[s.name] = UnitName(s.unit);
  nlohmann::json counters = nlohmann::json::array();
  for (const char* c : kProgressCounters) counters.push_back(c);
  return nlohmann::json{
      {"version", 1},
      {"default_figure", kDefaultFigure},
      {"published_figure", kPublishedFigure},
      {"sections",
       {{"final", "final"},
        {"clean", "evaluation.clean"},
        {"fgsm", kEvalFgsm},
        {"pgd", kEvalPgd},
        {"corruptions", kEvalCorruptions},
        {"filter_stats", kEvalFilterStats},
        {"parameters", kModelParameters},
        {"macs", kModelMacs}}},
      {"figures", figures},
      {"series", {{"units", units}, {"progress_counters", counters}}}};
}

}  // namespace lcsweep::analysis
