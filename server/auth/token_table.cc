#include "server/auth/token_table.h"

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "common/sha256.h"

namespace lcsweep::auth {
namespace {

constexpr size_t kMinTokenLength = 16;
constexpr std::string_view kDigestPrefix = "sha256:";

std::string CheckToken(std::string_view token) {
  if (token.size() < kMinTokenLength) {
    return "token too short (" + std::to_string(token.size()) + " characters; at least " +
           std::to_string(kMinTokenLength) + " required; make one with `lcsweep token`)";
  }
  for (char c : token) {
    if (c <= ' ' || c > '~') return "token contains a space or a non-printable character";
  }
  return "";
}

bool IsHexDigest(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::string TokenFileLine(std::string_view token, Role role, std::string_view name) {
  std::string line = std::string(kDigestPrefix) + Sha256Hex(token) + " " + RoleName(role);
  if (!name.empty()) line += " " + std::string(name);
  return line;
}

StatusOr<TokenTable> TokenTable::Parse(std::string_view text, std::vector<std::string>* warnings) {
  TokenTable table;
  std::vector<std::string> problems;
  size_t plaintext = 0;
  // `secret` is either "sha256:<hex>" (digest) or, deprecated, the token itself.
  auto add = [&](const std::string& where, bool is_digest, const std::string& secret,
                 const std::string& role_name, std::string name) {
    std::string digest;
    if (is_digest) {
      if (!IsHexDigest(secret)) {
        problems.push_back(where + ": expected sha256: and 64 lower-case hex digits (from `lcsweep token`)");
        return;
      }
      digest = secret;
    } else {
      std::string bad = CheckToken(secret);
      if (!bad.empty()) {
        problems.push_back(where + ": " + bad);
        return;
      }
      digest = Sha256Hex(secret);
      ++plaintext;
    }
    Role role;
    if (!ParseRole(role_name, &role)) {
      problems.push_back(where + ": unknown role \"" + role_name +
                         "\"; expected admin, client, read-only or worker");
      return;
    }
    table.entries_.push_back({std::move(name), role, std::move(digest)});
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
      const bool digest = e.is_object() && e.contains("sha256") && e["sha256"].is_string();
      const bool plain = e.is_object() && e.contains("token") && e["token"].is_string();
      if (digest == plain || !e.contains("role") || !e["role"].is_string() ||
          (e.contains("name") && !e["name"].is_string())) {
        problems.push_back(where + ": expected {\"sha256\": string, \"role\": string, \"name\": string}");
        continue;
      }
      add(where, digest, e[digest ? "sha256" : "token"].get<std::string>(), e["role"].get<std::string>(),
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
      std::string secret, role, name, extra;
      if (!(fields >> secret)) continue;
      std::string where = "line " + std::to_string(number);
      if (!(fields >> role)) {
        problems.push_back(where + ": expected \"sha256:<digest> <role> [name]\"");
        continue;
      }
      fields >> name;
      if (fields >> extra) {
        problems.push_back(where + ": expected \"sha256:<digest> <role> [name]\", found extra text");
        continue;
      }
      const bool digest = secret.compare(0, kDigestPrefix.size(), kDigestPrefix) == 0;
      add(where, digest, digest ? secret.substr(kDigestPrefix.size()) : secret, role, name);
    }
  }
  std::set<std::string> seen;
  for (const Principal& e : table.entries_) {
    if (!seen.insert(e.token_sha256).second) {
      problems.push_back("the token of \"" + e.name + "\" appears more than once");
    }
  }
  if (problems.empty() && table.entries_.empty()) problems.push_back("no tokens defined");
  if (!problems.empty()) {
    std::string msg = "tokens file:";
    for (const auto& p : problems) msg += "\n  " + p;
    return InvalidArgumentError(msg);
  }
  if (plaintext > 0 && warnings != nullptr) {
    warnings->push_back(std::to_string(plaintext) +
                        " token(s) stored in plaintext: deprecated; replace each with the line "
                        "`lcsweep token --hash` prints for it (sha256:<digest> <role> <name>)");
  }
  return table;
}

StatusOr<TokenTable> TokenTable::Load(const std::string& path, std::vector<std::string>* warnings) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot read tokens file " + path);
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return PermissionDeniedError("tokens file " + path + " is open to group or others (mode " + mode +
                                 "); run `chmod 600 " + path + "`");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  StatusOr<TokenTable> t = Parse(ss.str(), warnings);
  if (!t.ok()) return Status(t.status().code(), path + ": " + t.status().message());
  return t;
}

StatusOr<Principal> TokenTable::Identify(std::string_view token) const {
  // Compare digests (equal lengths, so the length of a token does not leak
  // either) against every entry, without stopping at the first match.
  const std::string digest = Sha256Hex(token);
  const Principal* match = nullptr;
  for (const Principal& e : entries_) {
    bool eq = ConstantTimeEquals(digest, e.token_sha256);
    if (eq) match = &e;
  }
  if (match == nullptr) return UnauthenticatedError("unknown token");
  return *match;
}

bool TokenTable::Contains(std::string_view token_sha256) const {
  bool found = false;
  for (const Principal& e : entries_) found |= ConstantTimeEquals(token_sha256, e.token_sha256);
  return found;
}

}  // namespace lcsweep::auth
