// `lcsweep token`: makes a bearer token for a role and prints the line that
// grants it in the coordinator's --tokens-file (server/auth/token_table.h).
// The file keeps only the token's SHA-256; the token is shown once, here.
//
//   lcsweep token --role worker --name gpu-box-1
//   lcsweep token --role admin --hash < old-token   # the line for an existing
//                                                   # (e.g. plaintext) token
// Needs no coordinator. Thread-safety: one command per process.
#pragma once

#include <iosfwd>
#include <string>

#include "cli/commands.h"

namespace lcsweep::cli {

struct TokenArgs {
  std::string role;   // admin | client | read-only | worker
  std::string name;   // "" = the role's name
  bool hash = false;  // read the token from `in` instead of making one
  bool json = false;  // {"token": ..., "line": ...}
};

// Exit 0 on success, 2 for a bad role, name or token, 1 when no randomness.
int RunToken(const TokenArgs& args, std::istream& in, Io io);

}  // namespace lcsweep::cli
