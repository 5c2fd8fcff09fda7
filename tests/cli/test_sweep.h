// The small valid sweep the CLI tests submit or expand (synthetic data, a
// tiny ResNet-LC; never trained by these tests), for the end-to-end fixture
// and the server-less render tests alike.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lcsweep::cli_testing {

inline nlohmann::json TestSweep(const std::string& name, std::vector<int> lc_rates, std::vector<int> seeds) {
  return {{"name", name},
          {"base",
           {{"data", {{"name", "synthetic"}}},
            {"model", {{"arch", "resnet_cifar"}, {"depth", 8}, {"width", 8}, {"conv", {{"mode", "lc"}}}}},
            {"train", {{"epochs", 1}}},
            {"resources", {{"device", "cpu"}}}}},
          {"grid", {{"model.conv.lc_rate", lc_rates}, {"model.conv.spatial", {"frozen", "learned"}}}},
          {"seeds", seeds}};
}

}  // namespace lcsweep::cli_testing
