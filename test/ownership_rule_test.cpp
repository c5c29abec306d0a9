// The verdict's combination rule: its false-claim rate under the null (independent uniform
// p-values, as an unrelated model gives), and which evidence it proves.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "watermark/ownership.h"

namespace {

// How often the rule reaches `alpha` when every part's p-value is uniform and independent.
double false_claim_rate(int parts, double alpha, int trials) {
  std::mt19937_64 rng(17);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  int proven = 0;
  for (int t = 0; t < trials; ++t) {
    std::vector<double> l;
    for (int i = 0; i < parts; ++i) l.push_back(std::log10(1.0 - u(rng)));  // in (0, 1]
    proven += ds::combine_parts(l).log10_p_value <= std::log10(alpha);
  }
  return double(proven) / trials;
}

}  // namespace

TEST(CombinedVerdict, FalseClaimRateStaysAtMostAlpha) {
  // 400k trials: at alpha 0.01 the standard error is 1.6e-4, so the bound is tested tightly and
  // a rule that dropped the factor 2 (rate near 0.02) would fail.
  for (int parts : {2, 3}) {
    double rate = false_claim_rate(parts, 0.01, 400000);
    EXPECT_LE(rate, 0.0105) << parts << " parts";
    EXPECT_GE(rate, 0.006) << parts << " parts: the two tests overlap little (measured 0.0069, 0.0077)";
  }
}

TEST(CombinedVerdict, OnePartIsItsOwnPValue) {
  ds::CombinedPValue c = ds::combine_parts({-7.5});
  EXPECT_EQ(c.tests, 1);
  EXPECT_DOUBLE_EQ(c.log10_p_value, -7.5);
}

TEST(CombinedVerdict, ModerateEvidenceInTwoPartsProvesWhatNeitherDoesAlone) {
  // White-box 7.4e-6 and regions 6.6e-7, black-box silent: the strongest part alone gives
  // 3 x 6.6e-7 = 2e-6 > 1e-6; together they prove.
  ds::CombinedPValue c = ds::combine_parts({std::log10(7.4e-6), 0.0, std::log10(6.6e-7)});
  EXPECT_NEAR(c.log10_strongest_part, std::log10(3 * 6.6e-7), 1e-12);
  EXPECT_LT(c.log10_all_parts, -8.0);
  EXPECT_NEAR(c.log10_p_value, c.log10_all_parts + std::log10(2.0), 1e-12);
}

TEST(CombinedVerdict, OneStrongPartStillProves) {
  // Regions alone at 1e-9, the others at chance: Fisher dilutes it, the strongest-part test
  // does not.
  ds::CombinedPValue c = ds::combine_parts({std::log10(0.5), 0.0, -9.0});
  EXPECT_GT(c.log10_all_parts, c.log10_strongest_part);
  EXPECT_NEAR(c.log10_p_value, -9.0 + std::log10(3.0) + std::log10(2.0), 1e-12);
  EXPECT_LE(c.log10_p_value, -6.0);
}
