// Job identity: which fields of a JobConfig make it another experiment.
// The config hash (the dedupe key) and the group hash (the seed group)
// cover only what changes the trained model and its evaluation; the other
// fields are run settings: they are stored with the job and used by the
// worker, but two configs that differ only in them are one job, and their
// seeds one group. docs/results.md ("Job identity") lists every field of
// job_config.h with its decision and the reason.
//
// Run settings (never part of the identity):
//   data.root, data.loader_threads, data.placement, model.conv.execution, train.threads,
//   train.log_every_steps, train.channels_last, eval.corruptions_root,
//   resources.*, checkpoint.every_epochs;
// and, depending on the data set:
//   data.synthetic.*   unless data.name is "synthetic" (only it reads them);
//   data.image_size    unless data.name is "imagenet" (only it reads it).
//
// Versions: kConfigHashVersion names the rule. 1 hashed the whole canonical
// JSON; 2 is this one. A store written under an older version is rehashed
// when the coordinator loads it (server/core/rehash.h).
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/job_config.h"

namespace lcsweep {

inline constexpr int64_t kConfigHashVersion = 2;

// The run-setting paths of `c` (the list above with the data-set rules
// applied), sorted; a trailing ".*" stands for a whole section.
std::vector<std::string> IgnoredForIdentity(const JobConfig& c);

// Removes IgnoredForIdentity(c) from `config_json`, the JobConfigToJson
// tree of c (for callers that hold the tree already).
void EraseRunSettings(nlohmann::json* config_json, const JobConfig& c);

// The normalised JobConfigToJson(c) without IgnoredForIdentity(c): what
// JobConfigHash hashes (and JobGroupHash without "seed").
nlohmann::json IdentityJson(const JobConfig& c);

}  // namespace lcsweep
