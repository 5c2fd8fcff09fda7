#include "server/auth/credentials.h"

namespace lcsweep::auth {

Credentials::Credentials(std::string path, TokenTable table)
    : path_(std::move(path)), table_(std::make_shared<const TokenTable>(std::move(table))) {}

StatusOr<std::shared_ptr<Credentials>> Credentials::Load(const std::string& path,
                                                         std::vector<std::string>* warnings) {
  StatusOr<TokenTable> t = TokenTable::Load(path, warnings);
  if (!t.ok()) return t.status();
  return std::shared_ptr<Credentials>(new Credentials(path, std::move(t).value()));
}

std::shared_ptr<Credentials> Credentials::FromTable(TokenTable table) {
  return std::shared_ptr<Credentials>(new Credentials("", std::move(table)));
}

StatusOr<size_t> Credentials::Reload(std::vector<std::string>* warnings) {
  if (path_.empty()) return FailedPreconditionError("these credentials were not loaded from a file");
  StatusOr<TokenTable> t = TokenTable::Load(path_, warnings);
  if (!t.ok()) return t.status();
  const size_t n = t->size();
  auto fresh = std::make_shared<const TokenTable>(std::move(t).value());
  std::lock_guard<std::mutex> lock(mu_);
  table_ = std::move(fresh);
  return n;
}

std::shared_ptr<const TokenTable> Credentials::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return table_;
}

StatusOr<Principal> Credentials::Identify(std::string_view token) const { return Current()->Identify(token); }

StatusOr<Principal> Credentials::Authorize(std::string_view token, Access access) const {
  StatusOr<Principal> p = Identify(token);
  if (!p.ok()) return p;
  Status allowed = CheckRole(*p, access);
  if (!allowed.ok()) return allowed;
  return p;
}

bool Credentials::Contains(std::string_view token_sha256) const { return Current()->Contains(token_sha256); }

size_t Credentials::size() const { return Current()->size(); }

Status CheckRole(const Principal& p, Access access) {
  if (RoleAllows(p.role, access)) return OkStatus();
  return PermissionDeniedError(std::string("role ") + RoleName(p.role) + " (token \"" + p.name +
                               "\") may not make " + AccessName(access) + " calls");
}

}  // namespace lcsweep::auth
