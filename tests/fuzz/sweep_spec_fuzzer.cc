// libFuzzer target: ParseSweepText + expansion on arbitrary bytes.
// Checks, besides the sanitizers' memory and UB checks:
//   - a parse either yields a sweep or at least one error, never both;
//   - every error has a path, a found and an expected part;
//   - expansion stays under the (small) job limit given here;
//   - every job's canonical JSON parses back to the same config and hash
//     (canonical form is a fixed point), and group hashes ignore the seed.
// Expansion is capped at 64 jobs so one input cannot take seconds.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "common/job_config_json.h"
#include "common/sweep_spec.h"

namespace {

void Check(bool cond, const char* what) {
  if (!cond) {
    std::fprintf(stderr, "sweep_spec_fuzzer: invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16384) return -1;  // sweeps are small; larger inputs only slow the search
  std::string_view text(reinterpret_cast<const char*>(data), size);
  lcsweep::SweepLimits limits;
  limits.max_jobs = 64;
  lcsweep::SweepParseResult r = lcsweep::ParseSweepTextWithErrors(text, limits);
  Check(r.sweep.has_value() != !r.errors.empty(), "exactly one of sweep / errors");
  for (const lcsweep::FieldError& e : r.errors) {
    Check(!e.path.empty() && !e.found.empty() && !e.expected.empty(), "complete error");
  }
  if (!r.errors.empty()) {
    Check(!lcsweep::FieldErrorsToStatus(r.errors).ok(), "errors make a non-OK status");
    return 0;
  }
  const lcsweep::Sweep& s = *r.sweep;
  Check(!s.jobs.empty(), "a valid sweep has jobs");
  Check(s.jobs.size() <= limits.max_jobs, "job limit");
  for (const lcsweep::ExpandedJob& j : s.jobs) {
    auto back = lcsweep::JobConfigFromJson(nlohmann::json::parse(j.canonical_json));
    Check(back.ok(), "canonical JSON parses back");
    Check(lcsweep::CanonicalJobJson(*back) == j.canonical_json, "canonical form is a fixed point");
    Check(lcsweep::JobConfigHash(*back) == j.hash, "hash survives the round trip");
    lcsweep::JobConfig other_seed = j.config;
    other_seed.seed = j.config.seed + 1;
    Check(lcsweep::JobGroupHash(other_seed) == j.group_hash, "group hash ignores the seed");
    Check(lcsweep::JobConfigHash(other_seed) != j.hash, "hash includes the seed");
  }
  return 0;
}
