// The lcsweep CLI's commands. Each one talks to the coordinator through a
// Connection, writes its output to `out` (stdout) and its errors as
// "error: ..." lines to `err` (stderr), and returns the process exit code
// (cli/connection.h ExitCode).
// Thread-safety: one command per process.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "cli/connection.h"
#include "cli/results.h"

namespace lcsweep::cli {

struct Io {
  std::ostream& out;
  std::ostream& err;
};

struct SubmitArgs {
  std::string file;            // "-" = stdin
  bool dry_run = false;
  bool force = false;
  std::optional<int> priority;
  bool json = false;
};
int RunSubmit(const ConnectionFlags& flags, const SubmitArgs& args, Io io);

int RunListSweeps(const ConnectionFlags& flags, const std::string& tag, bool json, Io io);

struct JobsArgs {
  int64_t sweep = 0;
  std::vector<std::string> states;  // names, any of them; also comma-separated
  int64_t worker = 0;
  bool json = false;
};
int RunJobs(const ConnectionFlags& flags, const JobsArgs& args, Io io);

int RunShow(const ConnectionFlags& flags, int64_t job_id, bool json, Io io);
int RunWorkers(const ConnectionFlags& flags, bool all, bool json, Io io);
int RunEvents(const ConnectionFlags& flags, int64_t job_id, int64_t sweep_id, bool json, Io io);

// Exactly one of job_id / sweep_id is non-zero.
int RunCancel(const ConnectionFlags& flags, int64_t job_id, int64_t sweep_id, const std::string& reason, Io io);
int RunRetry(const ConnectionFlags& flags, int64_t job_id, int64_t sweep_id, Io io);

int RunResults(const ConnectionFlags& flags, int64_t sweep_id, const ResultsOptions& options, Io io);

struct ExportArgs {
  int64_t sweep = 0;
  std::string format = "csv";  // csv | json
  bool metrics = false;
};
int RunExport(const ConnectionFlags& flags, const ExportArgs& args, Io io);

// grpc.health.v1.Health/Check on `address` (empty = the configured
// coordinator); 0 when SERVING, 5 otherwise.
int RunHealth(const ConnectionFlags& flags, const std::string& address, Io io);

struct WatchArgs {
  int64_t sweep = 0;
  int64_t job = 0;
  bool plain = false;   // force plain lines even on a terminal
  double refresh_seconds = 0.5;
};
// Returns 0 when every watched job succeeded, 1 when some failed or were
// cancelled.
int RunWatch(const ConnectionFlags& flags, const WatchArgs& args, Io io);

// Shared helpers (commands.cc).
int ReportError(const Status& status, Io io);
StatusOr<std::unique_ptr<Connection>> Connect(const ConnectionFlags& flags);
// "[#####.....]  42%".
std::string ProgressBar(double fraction, int width);
// "1h02m", "3m05s", "12s".
std::string FormatDuration(double seconds);
// "lc_rate=8 spatial=frozen seed=0" from a job's axes_json.
std::string AxesText(const std::string& axes_json);

}  // namespace lcsweep::cli
