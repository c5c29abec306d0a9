// Golden SHA-256 vectors (FIPS 180-4 examples), including multi-block and streamed input.
#include "sha256.h"

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
