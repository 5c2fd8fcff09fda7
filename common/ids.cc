#include "common/ids.h"

#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

namespace lcsweep {
namespace {

bool ReadUrandom(uint8_t* out, size_t n) {
  FILE* f = std::fopen("/dev/urandom", "rb");
  if (f == nullptr) return false;
  size_t got = std::fread(out, 1, n, f);
  std::fclose(f);
  return got == n;
}

std::string Hex(const uint8_t* p, size_t n) {
  static const char kHex[] = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = kHex[p[i] >> 4];
    s[2 * i + 1] = kHex[p[i] & 15];
  }
  return s;
}

}  // namespace

std::string NewId(std::string_view prefix) {
  uint8_t b[12];
  if (!ReadUrandom(b, sizeof(b))) {
    std::random_device rd;
    for (uint8_t& x : b) x = static_cast<uint8_t>(rd());
  }
  std::string id(prefix);
  if (!id.empty()) id += '-';
  return id + Hex(b, sizeof(b));
}

StatusOr<std::string> NewSecretToken(size_t bytes) {
  if (bytes == 0 || bytes > 1024) {
    return InvalidArgumentError("secret token length " + std::to_string(bytes) +
                                " bytes; expected 1 to 1024");
  }
  std::vector<uint8_t> b(bytes);
  if (!ReadUrandom(b.data(), b.size())) {
    return UnavailableError("cannot read /dev/urandom for a secret token");
  }
  return Hex(b.data(), b.size());
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

}  // namespace lcsweep
