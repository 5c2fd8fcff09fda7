// AggregateResults: the coordinator's GetResults over analysis/'s seed
// grouping (analysis/seed_groups.h holds the rules: grouping by config
// minus seed, mean / sample std / n, the figure names). This file only
// adapts JobRecord and ResultsSummary (server/core/types.h) to it; it goes
// away once types.h names analysis's structs.
// Thread-safety: pure function.
#pragma once

#include <vector>

#include "server/core/types.h"

namespace lcsweep {

// Groups `jobs` (any states) by group_hash in order of their first job id and
// aggregates the figures of the succeeded ones. `pending` gets the number of
// jobs that are not succeeded. Result JSON that does not parse is skipped
// (counted as succeeded without figures).
ResultsSummary AggregateResults(const std::vector<const JobRecord*>& jobs);

}  // namespace lcsweep
