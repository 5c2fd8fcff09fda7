// `lcsweep watch`: follows WatchSweep / WatchJob and draws live progress.
//
// On a terminal: finished jobs scroll by as permanent lines; below them a
// block that is redrawn in place (ANSI cursor-up + clear) with one bar per
// running job and the sweep bar. Elsewhere (pipes, CI logs): plain lines for
// state changes, each epoch's test accuracy and, at most every 10 s per job,
// a progress line.
// Thread-safety: one RunWatch per process.
#pragma once

#include <cstdint>

#include "cli/connection.h"
#include "cli/io.h"

namespace lcsweep::cli {

struct WatchArgs {
  int64_t sweep = 0;
  int64_t job = 0;
  bool plain = false;   // force plain lines even on a terminal
  double refresh_seconds = 0.5;
};
// Returns 0 when every watched job succeeded, 1 when some failed or were
// cancelled.
int RunWatch(const ConnectionFlags& flags, const WatchArgs& args, Io io);

}  // namespace lcsweep::cli
