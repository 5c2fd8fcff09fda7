// Sweep documents for the coordinator tests (common/sweep_spec.h language).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lcsweep::testing {

// A grid over model.conv.lc_rate x seeds on the synthetic data set.
inline std::string GridSpec(const std::string& name, const std::vector<int>& lc_rates,
                            const std::vector<int>& seeds = {0}, int priority = 0,
                            int max_attempts = 3, nlohmann::json base = nlohmann::json::object()) {
  nlohmann::json spec;
  spec["name"] = name;
  if (!base.contains("data")) base["data"] = {{"name", "synthetic"}};
  if (!base.contains("train")) base["train"] = {{"epochs", 1}};
  spec["base"] = base;
  spec["grid"] = {{"model.conv.lc_rate", lc_rates}};
  spec["seeds"] = seeds;
  spec["priority"] = priority;
  spec["max_attempts"] = max_attempts;
  spec["tags"] = {"test"};
  return spec.dump();
}

}  // namespace lcsweep::testing
