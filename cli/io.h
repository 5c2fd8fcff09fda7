// Where a CLI command writes: its output to `out` (stdout), its errors as
// "error: ..." lines to `err` (stderr).
// Thread-safety: the streams are the caller's; one command at a time.
#pragma once

#include <ostream>

namespace lcsweep::cli {

struct Io {
  std::ostream& out;
  std::ostream& err;
};

}  // namespace lcsweep::cli
