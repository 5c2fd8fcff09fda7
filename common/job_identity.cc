// Job identity (see job_identity.h).
#include "common/job_identity.h"

#include <algorithm>

#include "common/job_config_json.h"

namespace lcsweep {
namespace {

// Erases `path` ("a.b.c", or "a.b.*" for the whole of a.b) from j.
void ErasePath(nlohmann::json& j, const std::string& path) {
  std::string p = path;
  if (p.size() > 2 && p.compare(p.size() - 2, 2, ".*") == 0) p.resize(p.size() - 2);
  nlohmann::json* node = &j;
  size_t start = 0;
  for (;;) {
    const size_t dot = p.find('.', start);
    const std::string key = p.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!node->is_object()) return;
    if (dot == std::string::npos) {
      node->erase(key);
      return;
    }
    auto it = node->find(key);
    if (it == node->end()) return;
    node = &*it;
    start = dot + 1;
  }
}

}  // namespace

std::vector<std::string> IgnoredForIdentity(const JobConfig& c) {
  std::vector<std::string> out = {"checkpoint.*",       "data.loader_threads",   "data.placement", "data.root",
                                  "eval.corruptions_root", "model.conv.execution", "resources.*",
                                  "train.channels_last", "train.log_every_steps", "train.threads"};
  if (c.data.name != "synthetic") out.push_back("data.synthetic.*");
  if (c.data.name != "imagenet") out.push_back("data.image_size");
  std::sort(out.begin(), out.end());
  return out;
}

void EraseRunSettings(nlohmann::json* config_json, const JobConfig& c) {
  for (const std::string& p : IgnoredForIdentity(c)) ErasePath(*config_json, p);
}

nlohmann::json IdentityJson(const JobConfig& c) {
  JobConfig n = c;
  NormalizeJobConfig(&n);
  nlohmann::json j = JobConfigToJson(n);
  EraseRunSettings(&j, n);
  return j;
}

}  // namespace lcsweep
