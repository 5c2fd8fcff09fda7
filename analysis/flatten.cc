// Flattening of result documents with an explicit stack (see flatten.h).
#include "analysis/flatten.h"

#include <cstdio>
#include <vector>

#include "analysis/figures.h"

namespace lcsweep::analysis {
namespace {

// Keys that identify an element of an array of objects, in label order.
constexpr const char* kIdentifyingKeys[] = {"name", "attack", "corruption", "eps",
                                            "severity", "layer", "kind", "steps"};

bool IsIdentifying(const std::string& key) {
  for (const char* k : kIdentifyingKeys) {
    if (key == k) return true;
  }
  return false;
}

std::string FormatLabelValue(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.6g", v.get<double>());
    return buf;
  }
  return v.dump();
}

// The label of array element `e` at `index`; `by_keys` says whether its
// identifying keys made it.
std::string ElementLabel(const nlohmann::json& e, size_t index, bool* by_keys) {
  std::string label;
  if (e.is_object()) {
    for (const char* key : kIdentifyingKeys) {
      auto it = e.find(key);
      if (it == e.end() || !(it->is_string() || it->is_number())) continue;
      if (!label.empty()) label += ",";
      label += std::string(key) + "=" + FormatLabelValue(*it);
    }
  }
  *by_keys = !label.empty();
  return *by_keys ? label : std::to_string(index);
}

struct Frame {
  const nlohmann::json* node;
  std::string path;
  bool skip_identifying;  // an element labelled by its identifying keys
};

}  // namespace

std::map<std::string, double> FlattenResult(const nlohmann::json& result) {
  std::map<std::string, double> out;
  std::vector<Frame> stack;
  if (result.is_object()) {
    for (auto it = result.begin(); it != result.end(); ++it) {
      if (it.key() == kConfigEchoSection || it.key() == kHistorySection) continue;
      stack.push_back({&it.value(), it.key(), false});
    }
  } else {
    stack.push_back({&result, "", false});
  }
  while (!stack.empty()) {
    Frame f = std::move(stack.back());
    stack.pop_back();
    const nlohmann::json& j = *f.node;
    if (j.is_number()) {
      if (!f.path.empty()) out[f.path] = j.get<double>();
    } else if (j.is_object()) {
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (f.skip_identifying && IsIdentifying(it.key())) continue;
        stack.push_back({&it.value(), f.path.empty() ? it.key() : f.path + "." + it.key(), false});
      }
    } else if (j.is_array()) {
      for (size_t i = 0; i < j.size(); ++i) {
        bool by_keys = false;
        std::string label = ElementLabel(j[i], i, &by_keys);
        stack.push_back({&j[i], f.path + "[" + label + "]", by_keys});
      }
    }
    // strings, booleans, null: not figures
  }
  return out;
}

}  // namespace lcsweep::analysis
