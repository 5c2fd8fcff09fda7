// Whole-file reads with errors that name the file: the readers parse from
// memory, so each format's code only checks sizes and contents.
#pragma once

#include <string>

#include <cstdint>

#include "common/status.h"

namespace lcsweep::data {

// Reads the file's bytes. A name ending in ".gz" is inflated with zlib.
// Errors: NOT_FOUND (missing), DATA_LOSS (unreadable or corrupt gzip stream),
// UNIMPLEMENTED (.gz when built without zlib).
StatusOr<std::string> ReadFileBytes(const std::string& path);

// Inflates a zlib (RFC 1950) stream whose inflated size is not known in advance.
// `what` names the source in error messages.
StatusOr<std::string> InflateZlib(const std::string& compressed, const std::string& what);

bool FileExists(const std::string& path);

// Big-endian 32-bit integer at `p` (idx headers).
inline uint32_t ReadBigEndian32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

}  // namespace lcsweep::data
