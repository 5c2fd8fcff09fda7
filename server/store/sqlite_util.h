// Statement helpers shared by the SqliteStore's files (sqlite_store.cc:
// open, migrate, commit; sqlite_store_read.cc: load and queries). Internal to
// server/store.
// Thread-safety: stateless; statements belong to the caller's connection.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace lcsweep::sqlite_util {

// Resets a cached statement when the scope ends, so it can be reused and
// does not keep a read transaction open.
class StmtScope {
 public:
  explicit StmtScope(sqlite3_stmt* s) : s_(s) {}
  ~StmtScope() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  sqlite3_stmt* get() const { return s_; }

 private:
  sqlite3_stmt* s_;
};

inline void Bind(sqlite3_stmt* s, int i, int64_t v) { sqlite3_bind_int64(s, i, v); }
inline void Bind(sqlite3_stmt* s, int i, int v) { sqlite3_bind_int64(s, i, v); }
inline void Bind(sqlite3_stmt* s, int i, double v) { sqlite3_bind_double(s, i, v); }
inline void Bind(sqlite3_stmt* s, int i, bool v) { sqlite3_bind_int(s, i, v ? 1 : 0); }
inline void Bind(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

inline std::string Text(sqlite3_stmt* s, int col) {
  const unsigned char* t = sqlite3_column_text(s, col);
  return t == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(t),
                                                    sqlite3_column_bytes(s, col));
}
inline int64_t Int(sqlite3_stmt* s, int col) { return sqlite3_column_int64(s, col); }
inline double Real(sqlite3_stmt* s, int col) { return sqlite3_column_double(s, col); }

inline nlohmann::json ParseOr(const std::string& text, nlohmann::json fallback) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  return j.is_discarded() ? fallback : j;
}

inline constexpr const char* kJobColumns =
    "id, config_json, hash, group_hash, axes_json, state, priority, attempt, max_attempts, "
    "lease_token, lease_owner, lease_expiry_ms, device, min_gpu_memory_gb, created_ms, "
    "queued_ms, started_ms, finished_ms, updated_ms, error, retryable, result_json, "
    "progress_epoch, progress_step, progress_metrics_json, progress_updated_ms, failures, losses, "
    "leases, memory_estimate_gb, oom_counted";

}  // namespace lcsweep::sqlite_util
