#include "common/logging.h"

#include <cstdlib>
#include <mutex>

#include <spdlog/sinks/stdout_sinks.h>

namespace lcsweep {
namespace {

constexpr const char* kPattern = "ts=%Y-%m-%dT%H:%M:%S.%eZ level=%l logger=%n %v";

std::mutex& Mu() {
  static std::mutex mu;
  return mu;
}
spdlog::level::level_enum& CurrentLevel() {
  static spdlog::level::level_enum level = spdlog::level::info;
  return level;
}
spdlog::sink_ptr& Sink() {
  // One sink shared by every logger so lines never interleave mid-line.
  static spdlog::sink_ptr sink = [] {
    auto s = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    s->set_formatter(std::make_unique<spdlog::pattern_formatter>(
        kPattern, spdlog::pattern_time_type::utc));
    return s;
  }();
  return sink;
}

}  // namespace

StatusOr<spdlog::level::level_enum> ParseLogLevel(std::string_view name) {
  static const std::pair<const char*, spdlog::level::level_enum> kLevels[] = {
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
      {"warning", spdlog::level::warn}, {"error", spdlog::level::err},
      {"critical", spdlog::level::critical}, {"off", spdlog::level::off}};
  for (const auto& [n, l] : kLevels) {
    if (name == n) return l;
  }
  return InvalidArgumentError("unknown log level \"" + std::string(name) +
                              "\"; expected one of trace, debug, info, warn, error, critical, off");
}

Status SetupLogging(std::string_view flag_level) {
  std::string source = "--log-level";
  std::string name(flag_level);
  if (name.empty()) {
    const char* env = std::getenv("LCSWEEP_LOG_LEVEL");
    if (env != nullptr && *env != '\0') {
      name = env;
      source = "LCSWEEP_LOG_LEVEL";
    }
  }
  spdlog::level::level_enum level = spdlog::level::info;
  if (!name.empty()) {
    auto parsed = ParseLogLevel(name);
    if (!parsed.ok()) return InvalidArgumentError(source + ": " + parsed.status().message());
    level = *parsed;
  }
  std::lock_guard<std::mutex> lock(Mu());
  CurrentLevel() = level;
  spdlog::apply_all([level](const std::shared_ptr<spdlog::logger>& l) { l->set_level(level); });
  return OkStatus();
}

std::shared_ptr<spdlog::logger> GetLogger(const std::string& subsystem) {
  std::lock_guard<std::mutex> lock(Mu());
  if (auto existing = spdlog::get(subsystem)) return existing;
  auto logger = std::make_shared<spdlog::logger>(subsystem, Sink());
  logger->set_level(CurrentLevel());
  logger->flush_on(spdlog::level::warn);
  spdlog::register_logger(logger);
  return logger;
}

std::string Kv(std::string_view key, std::string_view value) {
  bool quote = value.empty();
  for (char c : value) {
    if (c == ' ' || c == '=' || c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      quote = true;
      break;
    }
  }
  std::string out(key);
  out += '=';
  if (!quote) return out + std::string(value);
  out += '"';
  for (char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out + '"';
}

}  // namespace lcsweep
