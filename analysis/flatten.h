// FlattenResult: every numeric leaf of a result document under its figure
// name (the naming that figures.h describes). The one flatten used by the
// coordinator's GetResults, the dashboard's job index and the CLI.
//
// Naming: object keys join with "."; an array element is "[LABEL]" where
// LABEL lists the element's identifying keys (name, attack, corruption, eps,
// severity, layer, kind, steps) as key=value, in that order, or is the index
// when it has none; identifying keys are part of the label, not figures.
// Numbers print as %.6g. Strings, booleans and null are not figures. The
// top-level "job" and "history" sections are left out (figures.h says why).
//
// The walk uses an explicit stack, not recursion: a result document comes
// from a client, so its depth is the client's choice.
// Thread-safety: pure function.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace lcsweep::analysis {

std::map<std::string, double> FlattenResult(const nlohmann::json& result);

}  // namespace lcsweep::analysis
