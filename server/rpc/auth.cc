#include "server/rpc/auth.h"

#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "common/sha256.h"

namespace lcsweep::rpc {
namespace {

constexpr size_t kMinTokenLength = 16;

bool ParseRole(std::string_view s, Role* role) {
  if (s == "admin") *role = Role::kAdmin;
  else if (s == "client") *role = Role::kClient;
  else if (s == "read-only") *role = Role::kReadOnly;
  else if (s == "worker") *role = Role::kWorker;
  else return false;
  return true;
}

std::string CheckToken(std::string_view token) {
  if (token.size() < kMinTokenLength) {
    return "token too short (" + std::to_string(token.size()) + " characters; at least " +
           std::to_string(kMinTokenLength) + " required, e.g. `openssl rand -hex 32`)";
  }
  for (char c : token) {
    if (c <= ' ' || c > '~') return "token contains a space or a non-printable character";
  }
  return "";
}

}  // namespace

const char* RoleName(Role role) {
  switch (role) {
    case Role::kAdmin: return "admin";
    case Role::kClient: return "client";
    case Role::kReadOnly: return "read-only";
    case Role::kWorker: return "worker";
  }
  return "?";
}

const char* AccessName(Access access) {
  switch (access) {
    case Access::kJobRead: return "JobService read";
    case Access::kJobWrite: return "JobService mutation";
    case Access::kWorker: return "WorkerService";
  }
  return "?";
}

bool RoleAllows(Role role, Access access) {
  switch (role) {
    case Role::kAdmin: return true;
    case Role::kClient: return access == Access::kJobRead || access == Access::kJobWrite;
    case Role::kReadOnly: return access == Access::kJobRead;
    case Role::kWorker: return access == Access::kWorker;
  }
  return false;
}

StatusOr<TokenTable> TokenTable::Parse(std::string_view text) {
  TokenTable table;
  std::vector<std::string> problems;
  auto add = [&](const std::string& where, std::string token, const std::string& role_name,
                 std::string name) {
    std::string bad = CheckToken(token);
    Role role;
    if (!bad.empty()) {
      problems.push_back(where + ": " + bad);
    } else if (!ParseRole(role_name, &role)) {
      problems.push_back(where + ": unknown role \"" + role_name +
                         "\"; expected admin, client, read-only or worker");
    } else {
      table.token_roles_[token] = RoleName(role);
      table.entries_.push_back({Sha256Hex(token), {std::move(name), role}});
    }
  };
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && (text[first] == '{' || text[first] == '[')) {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return InvalidArgumentError("tokens file: not valid JSON");
    const nlohmann::json* list = &j;
    if (j.is_object()) {
      auto it = j.find("tokens");
      if (it == j.end()) return InvalidArgumentError("tokens file: expected a \"tokens\" array");
      list = &*it;
    }
    if (!list->is_array()) return InvalidArgumentError("tokens file: \"tokens\" must be an array");
    for (size_t i = 0; i < list->size(); ++i) {
      const nlohmann::json& e = (*list)[i];
      std::string where = "tokens[" + std::to_string(i) + "]";
      if (!e.is_object() || !e.contains("token") || !e["token"].is_string() ||
          !e.contains("role") || !e["role"].is_string() ||
          (e.contains("name") && !e["name"].is_string())) {
        problems.push_back(where +
                           ": expected {\"token\": string, \"role\": string, \"name\": string}");
        continue;
      }
      add(where, e["token"].get<std::string>(), e["role"].get<std::string>(),
          e.value("name", std::string()));
    }
  } else {
    std::istringstream in{std::string(text)};
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
      ++number;
      size_t hash = line.find('#');
      if (hash != std::string::npos) line.resize(hash);
      std::istringstream fields(line);
      std::string token, role, name, extra;
      if (!(fields >> token)) continue;
      std::string where = "line " + std::to_string(number);
      if (!(fields >> role)) {
        problems.push_back(where + ": expected \"<token> <role> [name]\"");
        continue;
      }
      fields >> name;
      if (fields >> extra) {
        problems.push_back(where + ": expected \"<token> <role> [name]\", found extra text");
        continue;
      }
      add(where, token, role, name);
    }
  }
  std::set<std::string> seen;
  for (const Entry& e : table.entries_) {
    if (!seen.insert(e.token_sha256).second) {
      problems.push_back("the token of \"" + e.principal.name + "\" appears more than once");
    }
  }
  if (problems.empty() && table.entries_.empty()) problems.push_back("no tokens defined");
  if (!problems.empty()) {
    std::string msg = "tokens file:";
    for (const auto& p : problems) msg += "\n  " + p;
    return InvalidArgumentError(msg);
  }
  return table;
}

StatusOr<TokenTable> TokenTable::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot read tokens file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  StatusOr<TokenTable> t = Parse(ss.str());
  if (!t.ok()) return Status(t.status().code(), path + ": " + t.status().message());
  return t;
}

StatusOr<Principal> TokenTable::Authorize(std::string_view authorization, Access access) const {
  if (authorization.empty()) {
    return UnauthenticatedError(
        "missing credentials: send metadata \"authorization: Bearer <token>\"");
  }
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size() ||
      !ConstantTimeEquals(authorization.substr(0, kBearer.size()), kBearer)) {
    return UnauthenticatedError("malformed authorization metadata: expected \"Bearer <token>\"");
  }
  std::string_view token = authorization.substr(kBearer.size());
  // Compare digests (equal lengths, so the length of a token does not leak
  // either) against every entry, without stopping at the first match.
  const std::string digest = Sha256Hex(token);
  const Entry* match = nullptr;
  for (const Entry& e : entries_) {
    bool eq = ConstantTimeEquals(digest, e.token_sha256);
    if (eq) match = &e;
  }
  if (match == nullptr) return UnauthenticatedError("unknown token");
  if (!RoleAllows(match->principal.role, access)) {
    return PermissionDeniedError(std::string("role ") + RoleName(match->principal.role) +
                                 " (token \"" + match->principal.name + "\") may not make " +
                                 AccessName(access) + " calls");
  }
  return match->principal;
}

}  // namespace lcsweep::rpc
