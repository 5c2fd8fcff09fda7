// Bearer-token authentication and role-based authorisation for the gRPC
// services.
//
// Tokens file (--tokens-file). Either JSON:
//   {"tokens": [{"token": "<secret>", "role": "admin", "name": "alice"}, ...]}
// (a bare JSON array of the same objects is accepted too), or plain text, one
// token per line:
//   <token> <role> [name]        # comments and blank lines are ignored
// Roles: admin (everything), client (JobService), read-only (JobService reads
// only), worker (WorkerService only). Tokens must be at least 16 characters
// of printable ASCII without spaces, and unique; a malformed file is refused
// as a whole with every problem listed (line numbers / JSON indices). Generate
// tokens with e.g. `openssl rand -hex 32`.
//
// Clients send metadata "authorization: Bearer <token>".
// Missing header, malformed header or unknown token -> UNAUTHENTICATED; a
// known token whose role does not allow the call -> PERMISSION_DENIED.
// Presented tokens are compared against every entry in constant time (no
// early exit on the first match or the first differing byte).
//
// Thread-safety: immutable after Load; Authorize may be called concurrently.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace lcsweep::rpc {

enum class Role { kAdmin, kClient, kReadOnly, kWorker };
const char* RoleName(Role role);

// What a call needs.
enum class Access {
  kJobRead,   // JobService reads: Get*, List*, Watch*, GetResults, GetMetrics, dry runs
  kJobWrite,  // JobService mutations: SubmitSweep, Cancel*, RetryJob
  kWorker,    // every WorkerService call
};
const char* AccessName(Access access);
bool RoleAllows(Role role, Access access);

struct Principal {
  std::string name;
  Role role = Role::kReadOnly;
};

class TokenTable {
 public:
  // Parses the contents of a tokens file (format above).
  static StatusOr<TokenTable> Parse(std::string_view text);
  // Reads and parses `path`; NOT_FOUND / INVALID_ARGUMENT name the file.
  static StatusOr<TokenTable> Load(const std::string& path);

  // `authorization` is the raw metadata value ("Bearer <token>"), empty when
  // the header is missing.
  StatusOr<Principal> Authorize(std::string_view authorization, Access access) const;

  size_t size() const { return entries_.size(); }
  // token -> role name, for the dashboard's HTTP port (server/http), which
  // checks its own bearer tokens from the same file.
  const std::map<std::string, std::string>& token_roles() const { return token_roles_; }

 private:
  struct Entry {
    std::string token_sha256;  // hex SHA-256 of the token (the token itself is not kept)
    Principal principal;
  };
  std::vector<Entry> entries_;
  std::map<std::string, std::string> token_roles_;
};

}  // namespace lcsweep::rpc
