// `lcsweep ls`: the sweeps with their job counts and progress.
// Thread-safety: RenderSweeps is pure; FetchSweeps is as thread-safe as the
// connection's stub.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/connection.h"
#include "cli/io.h"
#include "common/status.h"
#include "lcsweep/v1/coordinator.pb.h"

namespace lcsweep::cli {

int RunListSweeps(const ConnectionFlags& flags, const std::string& tag, bool json, Io io);

// Every sweep (with `tag`, when not empty), following next_page_token.
StatusOr<std::vector<v1::Sweep>> FetchSweeps(Connection& c, const std::string& tag);

// A table (ages relative to now_ms), a hint when there are none, or (json)
// a ListSweepsResponse holding them all.
std::string RenderSweeps(const std::vector<v1::Sweep>& sweeps, bool json, int64_t now_ms);

}  // namespace lcsweep::cli
