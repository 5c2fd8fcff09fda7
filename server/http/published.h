// The published numbers of PAPER.md section 7 (Gavrikov & Keuper, v2, mean
// +- std over 4 seeds), looked up by a job's config summary, so the
// dashboard can show them beside a sweep's own results where the config
// matches the paper's.
// Thread-safety: pure functions over constant tables.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace lcsweep {

struct PublishedNumber {
  double mean = 0;    // test accuracy in percent
  double std = 0;     // over seeds, percent; 0 when the paper gives none
  std::string source; // e.g. "PAPER v2: ResNet-20-16, CIFAR-10, LC frozen x128"
};

// `summary` holds dotted config paths ("data.name", "model.arch", "model.depth",
// "model.width", "model.kernel_size", "model.conv.mode", "model.conv.lc_rate",
// "model.conv.spatial", "model.conv.init", "model.conv.sharing",
// "model.conv.intermediate"). Returns the paper's clean test accuracy for that
// configuration, or nullopt when the paper has none.
std::optional<PublishedNumber> PublishedAccuracy(const nlohmann::json& summary);

}  // namespace lcsweep
