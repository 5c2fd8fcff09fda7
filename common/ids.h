// Random identifiers and secret tokens.
//   NewId("job") -> "job-3f9a0c5e12d47b86a1c0e9f2" (prefix, '-', 24 hex digits = 96 random bits)
//   NewSecretToken() -> 64 hex digits (256 bits) from /dev/urandom, for
//   worker/client bearer tokens.
// Thread-safety: all functions may be called concurrently.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace lcsweep {

// Ids need to be unique, not secret: /dev/urandom, falling back to
// std::random_device when it cannot be read.
std::string NewId(std::string_view prefix);

// `bytes` random bytes from /dev/urandom as lower-case hex. UNAVAILABLE when
// /dev/urandom cannot be read (no weaker fallback for secrets).
StatusOr<std::string> NewSecretToken(size_t bytes = 32);

// Compares without an early exit, so timing does not reveal the matching
// prefix of a token.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace lcsweep
