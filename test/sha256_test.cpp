// Golden SHA-256 vectors (FIPS 180-4 examples), including multi-block and streamed input.
#include "core/sha256.h"

#include <gtest/gtest.h>

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(ds::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(ds::sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(ds::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, StreamedInputMatchesOneShot) {
  ds::Sha256 h;
  // One million 'a's fed in uneven pieces that straddle the 64-byte block boundary.
  std::string chunk(997, 'a');
  size_t fed = 0;
  for (size_t piece = 1; fed < 1000000; piece = piece % 900 + 13) {
    size_t n = std::min(piece, 1000000 - fed);
    h.update(chunk.data(), n);
    fed += n;
  }
  EXPECT_EQ(h.hex_digest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// The hardware path (x86 SHA extensions, where the CPU has them) and the portable code agree on
// every length around the block boundaries and on long inputs; the golden vectors run on both.
TEST(Sha256, AcceleratedAndPortablePathsAgree) {
  std::string data;
  uint32_t x = 12345;
  for (int i = 0; i < 300000; ++i) {
    x = x * 1664525u + 1013904223u;
    data.push_back(char(x >> 24));
  }
  auto both = [&](const std::string& s) {
    ds::Sha256::set_portable_only(true);
    std::string portable = ds::sha256_hex(s);
    ds::Sha256::set_portable_only(false);
    return std::make_pair(portable, ds::sha256_hex(s));
  };
  for (size_t n : {0, 1, 55, 56, 63, 64, 65, 119, 127, 128, 129, 1000, 4096, 300000}) {
    auto [portable, fast] = both(data.substr(0, n));
    EXPECT_EQ(portable, fast) << n << " bytes";
  }
  ds::Sha256::set_portable_only(true);
  EXPECT_EQ(ds::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  ds::Sha256::set_portable_only(false);
  if (!ds::Sha256::accelerated()) GTEST_SKIP() << "this CPU has no SHA extensions";
}
