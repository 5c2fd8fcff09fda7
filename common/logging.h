// Logging setup: one named spdlog logger per subsystem ("coordinator",
// "worker", "store", ...), all writing key=value text lines to stderr:
//   ts=2026-11-27T23:51:37.123Z level=info logger=coordinator event=lease job=job-3f9a...
// Messages should themselves be key=value pairs; Kv() quotes values that
// need it.
//
// The level comes from the flag value given to SetupLogging, else the
// LCSWEEP_LOG_LEVEL environment variable, else "info". Levels: trace, debug,
// info, warn, error, critical, off.
// Thread-safety: GetLogger and SetupLogging may be called from any thread;
// spdlog loggers are thread-safe (the _mt sink is used).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "common/status.h"

namespace lcsweep {

// Sets the level of every lcsweep logger (existing and future) from
// `flag_level` when not empty, else from LCSWEEP_LOG_LEVEL, else info.
// INVALID_ARGUMENT (naming the source) for an unknown level name.
Status SetupLogging(std::string_view flag_level = "");

// The logger for `subsystem`, created on first use. Never null.
std::shared_ptr<spdlog::logger> GetLogger(const std::string& subsystem);

// Parses a level name; INVALID_ARGUMENT lists the accepted names.
StatusOr<spdlog::level::level_enum> ParseLogLevel(std::string_view name);

// `key=value`, with the value double-quoted (and " and \ escaped) when it is
// empty or contains spaces, '=', quotes or control characters.
std::string Kv(std::string_view key, std::string_view value);
template <typename T>
std::string Kv(std::string_view key, const T& value) {
  return Kv(key, std::string_view(std::to_string(value)));
}
inline std::string Kv(std::string_view key, const std::string& value) {
  return Kv(key, std::string_view(value));
}
inline std::string Kv(std::string_view key, const char* value) {
  return Kv(key, std::string_view(value));
}

}  // namespace lcsweep
