// BCH: parameters of known codes, and correction of exactly up to t errors: t errors always
// decode to the sent data, t + 1 never decode to it.
#include "watermark/bch.h"

#include <gtest/gtest.h>

#include <random>

namespace {

TEST(Bch, KnownCodeParameters) {
  EXPECT_EQ(ds::BchCode(6, 1).k(), 57);
  EXPECT_EQ(ds::BchCode(6, 5).k(), 36);
  EXPECT_EQ(ds::BchCode(6, 7).k(), 24);
  EXPECT_EQ(ds::BchCode(7, 10).k(), 64);
  EXPECT_EQ(ds::BchCode(8, 16).k(), 131);
  EXPECT_THROW(ds::BchCode(4, 1), std::invalid_argument);
  EXPECT_THROW(ds::BchCode(6, 40), std::invalid_argument);
}

TEST(Bch, CorrectsUpToTErrorsAndNoMore) {
  std::mt19937_64 rng(5);
  for (auto [m, t] : {std::pair{6, 1}, {6, 5}, {6, 7}, {7, 10}, {8, 8}}) {
    ds::BchCode code(m, t);
    for (int trial = 0; trial < 40; ++trial) {
      std::vector<uint8_t> data(size_t(code.k()));
      for (auto& b : data) b = uint8_t(rng() & 1);
      std::vector<uint8_t> word = code.encode(data);
      ASSERT_EQ(int(word.size()), code.n());
      EXPECT_TRUE(std::equal(data.begin(), data.end(), word.begin())) << "systematic";
      ds::BchCode::Decoded clean = code.decode(word);
      ASSERT_TRUE(clean.ok);
      EXPECT_EQ(clean.corrected, 0);
      EXPECT_EQ(clean.data, data);
      for (int errors : {t, t + 1}) {
        std::vector<int> pos(size_t(code.n()));
        for (int i = 0; i < code.n(); ++i) pos[size_t(i)] = i;
        std::shuffle(pos.begin(), pos.end(), rng);
        std::vector<uint8_t> bad = word;
        for (int e = 0; e < errors; ++e) bad[size_t(pos[size_t(e)])] ^= 1;
        ds::BchCode::Decoded d = code.decode(bad);
        if (errors <= t) {
          ASSERT_TRUE(d.ok) << "m " << m << " t " << t << " errors " << errors;
          EXPECT_EQ(d.corrected, errors);
          EXPECT_EQ(d.data, data);
        } else {
          EXPECT_FALSE(d.ok && d.data == data) << "t + 1 errors decoded to the sent data";
        }
      }
    }
  }
}

}  // namespace
