#include "cli/token.h"

#include <istream>
#include <ostream>

#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "server/auth/roles.h"
#include "server/auth/token_table.h"

namespace lcsweep::cli {

int RunToken(const TokenArgs& args, std::istream& in, Io io) {
  auth::Role role;
  if (!auth::ParseRole(args.role, &role)) {
    io.err << "error: unknown role \"" << args.role << "\"; expected admin, client, read-only or worker\n";
    return 2;
  }
  const std::string name = args.name.empty() ? args.role : args.name;
  for (char c : name) {
    if (c <= ' ' || c > '~' || c == '#') {
      io.err << "error: --name must be printable ASCII without spaces or '#'\n";
      return 2;
    }
  }
  std::string token;
  if (args.hash) {
    std::getline(in, token);
    while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
    // Parse the line we would print, so that a token the coordinator would
    // refuse (too short, spaces) is refused here too.
    if (auto t = auth::TokenTable::Parse(token + " " + args.role); token.empty() || !t.ok()) {
      io.err << "error: expected one token of at least 16 printable characters on stdin\n";
      return 2;
    }
  } else {
    StatusOr<std::string> fresh = NewSecretToken(32);
    if (!fresh.ok()) {
      io.err << "error: " << fresh.status().message() << "\n";
      return 1;
    }
    token = std::move(fresh).value();
  }
  const std::string line = auth::TokenFileLine(token, role, name);
  if (args.json) {
    nlohmann::json j = {{"line", line}, {"role", args.role}, {"name", name}};
    if (!args.hash) j["token"] = token;
    io.out << j.dump() << "\n";
    return 0;
  }
  if (!args.hash) {
    io.out << "# the token for " << args.role << " \"" << name
           << "\" (shown only now; give it to its user, e.g. as LCSWEEP_TOKEN):\n"
           << token << "\n";
  }
  io.out << "# add this line to the coordinator's --tokens-file, then `kill -HUP` the coordinator:\n"
         << line << "\n";
  return 0;
}

}  // namespace lcsweep::cli
