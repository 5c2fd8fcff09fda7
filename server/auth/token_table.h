// TokenTable: who a bearer token belongs to. One table serves the gRPC port
// (server/rpc/auth.h) and the dashboard's HTTP port (server/http); the role
// rules are in roles.h.
//
// Tokens file (--tokens-file). Lines, one token each:
//   sha256:<64 hex digits> <role> [name]     # comments and blank lines are ignored
// or JSON:
//   {"tokens": [{"sha256": "<64 hex digits>", "role": "admin", "name": "alice"}, ...]}
// (a bare JSON array of the same objects is accepted too). The file holds the
// SHA-256 digest of each token, never the token: `lcsweep token --role R
// --name N` makes a token and prints the line to add. Tokens have at least
// 128 bits of entropy (the command makes 256), so an unsalted fast hash is
// enough: nobody can search that space, and a stolen file lets nobody in.
//
// Deprecated: the older plaintext form ("<token> <role> [name]", or
// {"token": "<token>", ...}) is still read so that existing installations
// keep working; Parse reports it in `warnings`, and the coordinator logs it.
// Plaintext tokens must be at least 16 printable ASCII characters without
// spaces.
//
// A malformed file is refused as a whole with every problem listed (line
// numbers / JSON indices); duplicate digests are refused.
//
// Load() also refuses a file that group or others may read or write: it holds
// the keys to every door.
//
// Presented tokens are hashed and the digest is compared against every entry
// in constant time (no early exit on the first match or differing byte).
//
// Thread-safety: immutable after Parse/Load; Identify may be called
// concurrently. For a table that reloads, see credentials.h.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "server/auth/roles.h"

namespace lcsweep::auth {

struct Principal {
  std::string name;                 // the "name" column; may be empty
  Role role = Role::kReadOnly;
  std::string token_sha256;         // which entry matched (sessions re-check it after a reload)
};

class TokenTable {
 public:
  // Parses the contents of a tokens file (format above). Deprecation notes
  // (plaintext entries) are appended to `warnings` when it is not null.
  static StatusOr<TokenTable> Parse(std::string_view text, std::vector<std::string>* warnings = nullptr);
  // Reads and parses `path`. NOT_FOUND when it cannot be read,
  // PERMISSION_DENIED when group or others have access to it,
  // INVALID_ARGUMENT when malformed; every message names the file.
  static StatusOr<TokenTable> Load(const std::string& path, std::vector<std::string>* warnings = nullptr);

  // The principal whose token this is; UNAUTHENTICATED when none.
  StatusOr<Principal> Identify(std::string_view token) const;
  // True when `token_sha256` is still an entry (after a reload).
  bool Contains(std::string_view token_sha256) const;

  size_t size() const { return entries_.size(); }

 private:
  std::vector<Principal> entries_;
};

// The tokens-file line for `token` ("sha256:<hex> <role> <name>").
std::string TokenFileLine(std::string_view token, Role role, std::string_view name);

}  // namespace lcsweep::auth
