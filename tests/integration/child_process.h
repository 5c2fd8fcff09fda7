// ChildProcess: runs a project binary as a real process for integration
// tests, with stdout and stderr captured to files, and the means to wait for
// a line, send signals and collect the exit status.
// Not thread-safe; one owner. The destructor SIGKILLs a process still running.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace lcsweep::testing {

class ChildProcess {
 public:
  // Starts `argv[0]` with the arguments; output goes to `log_prefix`.out/.err.
  // `env` ("NAME=VALUE") is added to (or overrides) the test's environment,
  // e.g. LD_PRELOAD for libfaketime.
  ChildProcess(std::vector<std::string> argv, std::string log_prefix,
               std::vector<std::string> env = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Waits until stdout or stderr contains `text`; returns that line.
  std::optional<std::string> WaitForOutput(const std::string& text,
                                           std::chrono::milliseconds timeout) const;
  std::string Stdout() const;
  std::string Stderr() const;
  void Signal(int sig) const;
  // Waits for exit; the exit code (128 + signal when killed), or nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  bool running();

 private:
  pid_t pid_ = -1;
  std::string out_path_, err_path_;
  std::optional<int> exit_code_;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
int PickFreePort();

// Reads a whole file ("" when missing).
std::string ReadFileOrEmpty(const std::string& path);

}  // namespace lcsweep::testing
