#include "common/sha256.h"

#include <string>

#include <gtest/gtest.h>

namespace lcsweep {
namespace {

// FIPS 180-2 / NIST CSRC example vectors.
TEST(Sha256Test, Empty) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256Test, Abc) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, TwoBlockMessage448Bits) {
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, MillionA) {
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, IncrementalUpdatesMatchOneShot) {
  // Chunk sizes that straddle the 64-byte block and the 56-byte padding edge.
  std::string msg;
  for (int i = 0; i < 1000; ++i) msg += static_cast<char>('a' + i % 26);
  for (size_t chunk : {1u, 3u, 55u, 56u, 63u, 64u, 65u, 127u}) {
    Sha256 s;
    for (size_t off = 0; off < msg.size(); off += chunk) s.Update(msg.substr(off, chunk));
    auto d = s.Finish();
    std::string hex;
    char buf[3];
    for (uint8_t b : d) {
      snprintf(buf, sizeof(buf), "%02x", b);
      hex += buf;
    }
    EXPECT_EQ(hex, Sha256Hex(msg)) << "chunk " << chunk;
  }
}

TEST(Sha256Test, PaddingBoundaries) {
  // Lengths 55, 56 and 64 exercise the one- vs two-block padding paths
  // (values from Python's hashlib).
  EXPECT_EQ(Sha256Hex(std::string(55, 'a')),
            "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  EXPECT_EQ(Sha256Hex(std::string(56, 'a')),
            "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  EXPECT_EQ(Sha256Hex(std::string(64, 'a')),
            "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

}  // namespace
}  // namespace lcsweep
