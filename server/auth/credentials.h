// Credentials: the coordinator's current TokenTable, swappable at run time so
// that tokens rotate without a restart (server/main.cc calls Reload on
// SIGHUP). The gRPC port and the dashboard share one instance.
//
// Usage:
//   auto creds = Credentials::Load("/etc/lcsweep/tokens");   // or FromTable
//   StatusOr<Principal> p = creds->Authorize(token, Access::kJobRead);
//   ...
//   creds->Reload();   // a bad file keeps the old table and says why
//
// Thread-safety: every method may be called concurrently; a call sees either
// the old or the new table, never a mix.
// Ownership: shared (std::shared_ptr) by every server that checks tokens.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "server/auth/token_table.h"

namespace lcsweep::auth {

class Credentials {
 public:
  // Reads `path` (TokenTable::Load); warnings (deprecated plaintext) are
  // appended to `warnings` when not null.
  static StatusOr<std::shared_ptr<Credentials>> Load(const std::string& path,
                                                     std::vector<std::string>* warnings = nullptr);
  // A fixed table (tests, embedded servers); Reload then fails.
  static std::shared_ptr<Credentials> FromTable(TokenTable table);

  // Re-reads the file given to Load. On error the current table stays in
  // force and the error is returned. Returns the number of tokens on success.
  StatusOr<size_t> Reload(std::vector<std::string>* warnings = nullptr);

  // UNAUTHENTICATED for an unknown token, PERMISSION_DENIED when its role
  // may not make `access` calls (the message names the role and the token's name).
  StatusOr<Principal> Authorize(std::string_view token, Access access) const;
  StatusOr<Principal> Identify(std::string_view token) const;
  // True when the entry with this digest is still in the table.
  bool Contains(std::string_view token_sha256) const;
  size_t size() const;
  const std::string& path() const { return path_; }

 private:
  Credentials(std::string path, TokenTable table);
  std::shared_ptr<const TokenTable> Current() const;

  const std::string path_;
  mutable std::mutex mu_;
  std::shared_ptr<const TokenTable> table_;  // guarded by mu_; never null
};

// PERMISSION_DENIED unless `p` may make `access` calls.
Status CheckRole(const Principal& p, Access access);

}  // namespace lcsweep::auth
