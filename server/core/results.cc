// Flattening and aggregation of job results (see results.h).
#include "server/core/results.h"

#include <cmath>
#include <cstdio>
#include <unordered_map>

namespace lcsweep {
namespace {

// Keys that identify an element of an array of objects, in label order.
constexpr const char* kIdentifyingKeys[] = {"name", "attack", "corruption", "eps",
                                            "severity", "layer", "kind", "steps"};

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

std::string Join(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

void Flatten(const nlohmann::json& j, const std::string& path,
             std::map<std::string, double>* out) {
  if (j.is_number()) {
    if (!path.empty()) (*out)[path] = j.get<double>();
    return;
  }
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) Flatten(it.value(), Join(path, it.key()), out);
    return;
  }
  if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) {
      const nlohmann::json& e = j[i];
      std::string label;
      if (e.is_object()) {
        for (const char* key : kIdentifyingKeys) {
          auto it = e.find(key);
          if (it == e.end() || !(it->is_string() || it->is_number())) continue;
          if (!label.empty()) label += ",";
          label += std::string(key) + "=" + FormatLabelValue(*it);
        }
      }
      const bool labelled_by_keys = !label.empty();
      if (!labelled_by_keys) label = std::to_string(i);
      std::string element_path = path + "[" + label + "]";
      if (e.is_object()) {
        // Identifying fields are part of the label, not figures.
        for (auto it = e.begin(); it != e.end(); ++it) {
          bool identifying = false;
          for (const char* key : kIdentifyingKeys) identifying |= it.key() == key;
          if (identifying && labelled_by_keys) continue;
          Flatten(it.value(), element_path + "." + it.key(), out);
        }
      } else {
        Flatten(e, element_path, out);
      }
    }
  }
  // strings, booleans, null: not figures
}

}  // namespace

std::map<std::string, double> FlattenResult(const nlohmann::json& result) {
  std::map<std::string, double> out;
  Flatten(result, "", &out);
  return out;
}

FigureStats ComputeStats(const std::vector<double>& values) {
  FigureStats s;
  s.n = static_cast<int64_t>(values.size());
  if (s.n == 0) return s;
  double sum = 0;
  for (double v : values) sum += v;
  s.mean = sum / static_cast<double>(s.n);
  if (s.n > 1) {
    double ss = 0;
    for (double v : values) ss += (v - s.mean) * (v - s.mean);
    s.std = std::sqrt(ss / static_cast<double>(s.n - 1));
  }
  return s;
}

ResultsSummary AggregateResults(const std::vector<const JobRecord*>& jobs) {
  ResultsSummary summary;
  std::unordered_map<std::string, size_t> index;  // group hash -> position
  std::vector<std::map<std::string, std::vector<double>>> values;
  for (const JobRecord* job : jobs) {
    auto [it, inserted] = index.emplace(job->group_hash, summary.groups.size());
    if (inserted) {
      ResultGroup g;
      g.group_hash = job->group_hash;
      nlohmann::json axes = nlohmann::json::parse(job->axes_json, nullptr, false);
      if (axes.is_object()) axes.erase("seed");
      g.axes_json = axes.is_discarded() ? "{}" : axes.dump();
      summary.groups.push_back(std::move(g));
      values.emplace_back();
    }
    ResultGroup& g = summary.groups[it->second];
    g.job_ids.push_back(job->id);
    if (job->state != JobState::kSucceeded) {
      ++summary.pending_jobs;
      continue;
    }
    ++g.n_succeeded;
    nlohmann::json config = nlohmann::json::parse(job->config_json, nullptr, false);
    if (config.is_object() && config.contains("seed") && config["seed"].is_number_integer())
      g.seeds.push_back(config["seed"].get<int64_t>());
    nlohmann::json result = nlohmann::json::parse(job->result_json, nullptr, false);
    if (result.is_discarded()) continue;
    for (const auto& [name, v] : FlattenResult(result)) values[it->second][name].push_back(v);
  }
  for (size_t i = 0; i < summary.groups.size(); ++i)
    for (const auto& [name, vs] : values[i]) summary.groups[i].figures[name] = ComputeStats(vs);
  return summary;
}

}  // namespace lcsweep
