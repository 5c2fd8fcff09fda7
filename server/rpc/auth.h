// The gRPC port's adapter over the shared authorisation model
// (server/auth/): it reads the bearer token from the call's metadata and asks
// the one token table and role policy that the dashboard's HTTP port uses too.
// The tokens file format and the role table are documented in
// server/auth/token_table.h and server/auth/roles.h.
//
// Clients send metadata "authorization: Bearer <token>".
// Missing header, malformed header or unknown token -> UNAUTHENTICATED; a
// known token whose role does not allow the call -> PERMISSION_DENIED.
//
// A TokenTable here is a handle: copies share one auth::Credentials, so a
// Reload (SIGHUP in server/main.cc) through credentials() reaches every
// copy, the gRPC services' included.
//
// Thread-safety: Authorize may be called concurrently, also with a reload.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "server/auth/credentials.h"
#include "server/auth/roles.h"

namespace lcsweep::rpc {

using auth::Access;
using auth::AccessName;
using auth::Principal;
using auth::Role;
using auth::RoleAllows;
using auth::RoleName;

class TokenTable {
 public:
  // Parses the contents of a tokens file (server/auth/token_table.h).
  static StatusOr<TokenTable> Parse(std::string_view text, std::vector<std::string>* warnings = nullptr);
  // Reads and parses `path` (refused when group or others may read it);
  // NOT_FOUND / PERMISSION_DENIED / INVALID_ARGUMENT name the file.
  static StatusOr<TokenTable> Load(const std::string& path, std::vector<std::string>* warnings = nullptr);
  explicit TokenTable(std::shared_ptr<auth::Credentials> credentials) : credentials_(std::move(credentials)) {}

  // `authorization` is the raw metadata value ("Bearer <token>"), empty when
  // the header is missing.
  StatusOr<Principal> Authorize(std::string_view authorization, Access access) const;

  size_t size() const { return credentials_->size(); }
  // The shared table: the dashboard checks its tokens against it, and
  // server/main.cc reloads it.
  const std::shared_ptr<auth::Credentials>& credentials() const { return credentials_; }

 private:
  std::shared_ptr<auth::Credentials> credentials_;  // never null
};

}  // namespace lcsweep::rpc
