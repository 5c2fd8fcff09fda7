#include "server/rpc/auth.h"

#include "common/ids.h"

namespace lcsweep::rpc {

StatusOr<TokenTable> TokenTable::Parse(std::string_view text, std::vector<std::string>* warnings) {
  StatusOr<auth::TokenTable> t = auth::TokenTable::Parse(text, warnings);
  if (!t.ok()) return t.status();
  return TokenTable(auth::Credentials::FromTable(std::move(t).value()));
}

StatusOr<TokenTable> TokenTable::Load(const std::string& path, std::vector<std::string>* warnings) {
  StatusOr<std::shared_ptr<auth::Credentials>> c = auth::Credentials::Load(path, warnings);
  if (!c.ok()) return c.status();
  return TokenTable(std::move(c).value());
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
  return credentials_->Authorize(authorization.substr(kBearer.size()), access);
}

}  // namespace lcsweep::rpc
