#include "common/early_stopping.h"

#include <algorithm>
#include <cmath>

namespace lcsweep {
namespace {

using nlohmann::json;

const std::vector<std::string> kKeys = {"rule",   "metric",    "mode",  "grace_epochs",
                                        "min_arms", "margin", "min_seeds", "alpha"};

}  // namespace

const std::vector<std::string>& EarlyStoppingMetrics() {
  static const std::vector<std::string>* m = new std::vector<std::string>{
      "test.accuracy", "test.loss", "test.top5", "train.accuracy", "train.loss"};
  return *m;
}

std::optional<EarlyStopping> ParseEarlyStopping(const json& value, const std::string& path,
                                                FieldErrors* errors) {
  const size_t before = errors->size();
  EarlyStopping out;
  if (!value.is_object()) {
    errors->Add(path, DescribeJson(value),
                "an object such as {\"rule\": \"median\", \"metric\": \"test.accuracy\"}");
    return std::nullopt;
  }
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (std::find(kKeys.begin(), kKeys.end(), it.key()) != kKeys.end()) continue;
    const std::string close = ClosestName(it.key(), kKeys);
    errors->Add(JoinPath(path, it.key()), "an unknown key", "one of " + QuoteList(kKeys),
                close.empty() ? "" : "did you mean \"" + close + "\"?");
  }
  auto text = [&](const char* key, const std::vector<std::string>& allowed, std::string* into,
                  bool required) {
    auto v = value.find(key);
    if (v == value.end()) {
      if (required) errors->Add(JoinPath(path, key), "nothing", "one of " + QuoteList(allowed));
      return;
    }
    if (!v->is_string() ||
        std::find(allowed.begin(), allowed.end(), v->get<std::string>()) == allowed.end()) {
      errors->Add(JoinPath(path, key), DescribeJson(*v), "one of " + QuoteList(allowed));
      return;
    }
    *into = v->get<std::string>();
  };
  auto integer = [&](const char* key, int64_t lo, int64_t hi, int64_t* into) {
    auto v = value.find(key);
    if (v == value.end()) return;
    if (!v->is_number_integer() || v->get<int64_t>() < lo || v->get<int64_t>() > hi) {
      errors->Add(JoinPath(path, key), DescribeJson(*v),
                  "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
      return;
    }
    *into = v->get<int64_t>();
  };
  auto real = [&](const char* key, double lo, double hi, bool open_lo, double* into) {
    auto v = value.find(key);
    if (v == value.end()) return;
    const bool ok = v->is_number() && std::isfinite(v->get<double>()) &&
                    (open_lo ? v->get<double>() > lo : v->get<double>() >= lo) &&
                    v->get<double>() <= hi;
    if (!ok) {
      errors->Add(JoinPath(path, key), DescribeJson(*v),
                  std::string("a number in ") + (open_lo ? "(" : "[") + std::to_string(lo) +
                      ", " + std::to_string(hi) + "]");
      return;
    }
    *into = v->get<double>();
  };
  std::string rule, mode = "max";
  text("rule", {"median", "seeds"}, &rule, /*required=*/true);
  text("metric", EarlyStoppingMetrics(), &out.metric, false);
  text("mode", {"max", "min"}, &mode, false);
  out.rule = rule == "seeds" ? EarlyStopping::Rule::kSeeds : EarlyStopping::Rule::kMedian;
  out.maximize = mode == "max";
  integer("grace_epochs", 0, 100000, &out.grace_epochs);
  integer("min_arms", 1, 100000, &out.min_arms);
  real("margin", 0, 1e9, false, &out.margin);
  integer("min_seeds", 2, 100000, &out.min_seeds);
  real("alpha", 0, 0.5, true, &out.alpha);
  if (errors->size() != before) return std::nullopt;
  return out;
}

std::optional<EarlyStopping> EarlyStoppingOfSpec(const std::string& spec_json) {
  const json spec = json::parse(spec_json, nullptr, false);
  if (!spec.is_object() || !spec.contains("early_stopping")) return std::nullopt;
  FieldErrors errors;
  return ParseEarlyStopping(spec["early_stopping"], "early_stopping", &errors);
}

}  // namespace lcsweep
