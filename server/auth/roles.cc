#include "server/auth/roles.h"

namespace lcsweep::auth {

const char* RoleName(Role role) {
  switch (role) {
    case Role::kAdmin: return "admin";
    case Role::kClient: return "client";
    case Role::kReadOnly: return "read-only";
    case Role::kWorker: return "worker";
  }
  return "?";
}

bool ParseRole(std::string_view s, Role* role) {
  if (s == "admin") *role = Role::kAdmin;
  else if (s == "client") *role = Role::kClient;
  else if (s == "read-only") *role = Role::kReadOnly;
  else if (s == "worker") *role = Role::kWorker;
  else return false;
  return true;
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

}  // namespace lcsweep::auth
