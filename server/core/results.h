// Results aggregation over seeds: flattening a job's result JSON into named
// numeric figures and mean / sample std / n per group (see ResultGroup in
// server/core/types.h for the naming rules).
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/core/types.h"

namespace lcsweep {

// Every numeric leaf of `result` under its flattened name.
std::map<std::string, double> FlattenResult(const nlohmann::json& result);

// mean, sample std (n - 1; 0 for n == 1) and n of `values` (n == 0: all zero).
FigureStats ComputeStats(const std::vector<double>& values);

// Groups `jobs` (any states) by group_hash in order of their first job id and
// aggregates the figures of the succeeded ones. `pending` gets the number of
// jobs that are not succeeded. Result JSON that does not parse is skipped
// (counted as succeeded without figures).
ResultsSummary AggregateResults(const std::vector<const JobRecord*>& jobs);

}  // namespace lcsweep
