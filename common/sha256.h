// SHA-256 (FIPS 180-4), self-contained so that lcsweep-train builds with
// LibTorch plus header-only libraries (no OpenSSL). Used for job content
// hashes; not for secrets.
// Thread-safety: Sha256 objects are not shared; the free function is pure.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lcsweep {

class Sha256 {
 public:
  Sha256();
  void Update(const void* data, size_t size);
  void Update(std::string_view s) { Update(s.data(), s.size()); }
  // Finishes the hash; the object must not be updated afterwards.
  std::array<uint8_t, 32> Finish();
  // Finish() as 64 lower-case hex digits (the form stored and sent on the wire).
  std::string FinishHex();

 private:
  void Block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_ = 0;  // bytes
};

// Lower-case hex digest of `data` (64 characters).
std::string Sha256Hex(std::string_view data);

}  // namespace lcsweep
