// Golden values for the binomial tails and the black-box threshold (exact values computed with
// rational arithmetic), including extreme tails far below the smallest double.
#include "stats.h"

#include <gtest/gtest.h>

TEST(Binomial, UpperTailGoldenValues) {
  EXPECT_NEAR(ds::binomial_upper_tail(64, 64, 0.5) / 5.421010862427522e-20, 1.0, 1e-12);
  EXPECT_NEAR(ds::binomial_upper_tail(64, 60, 0.5) / 3.681522317902641e-14, 1.0, 1e-10);
  EXPECT_NEAR(ds::binomial_upper_tail(64, 40, 0.5), 0.029970594783499616, 1e-12);
  EXPECT_NEAR(ds::binomial_upper_tail(64, 32, 0.5), 0.5496733768739834, 1e-12);
  EXPECT_NEAR(ds::binomial_upper_tail(256, 200, 0.5) / 1.8253945726410124e-20, 1.0, 1e-9);
  EXPECT_DOUBLE_EQ(ds::binomial_upper_tail(64, 0, 0.5), 1.0);
}

TEST(Binomial, ExtremeTailsDoNotUnderflowToAWrongAnswer) {
  // 2^-2048 is far below the smallest double; its log is still exact.
  EXPECT_NEAR(ds::log10_binomial_upper_tail(2048, 2048, 0.5), -616.5094311198335, 1e-9);
  EXPECT_NEAR(ds::log10_binomial_upper_tail(2048, 1400, 0.5), -62.83895866025523, 1e-8);
  EXPECT_EQ(ds::binomial_upper_tail(2048, 2048, 0.5), 0.0);
  EXPECT_GT(ds::binomial_upper_tail(2048, 1400, 0.5), 0.0);
}

TEST(Binomial, LowerTailMatchesComplement) {
  for (int64_t k = 0; k < 20; ++k) {
    double lower = ds::binomial_lower_tail(20, k, 0.9);
    double upper = ds::binomial_upper_tail(20, k + 1, 0.9);
    EXPECT_NEAR(lower + upper, 1.0, 1e-12);
  }
}

TEST(Blackbox, ThresholdGoldenValues) {
  // The authors' settings (DeepSigns section 2).
  EXPECT_EQ(ds::blackbox_threshold(20, 10, 1e-4), 12);
  EXPECT_NEAR(ds::binomial_lower_tail(20, 11, 0.9) / 5.985853174036018e-05, 1.0, 1e-9);
  EXPECT_EQ(ds::blackbox_threshold(50, 10, 0.05), 41);
  // K = 32, 10 classes, p = 1e-9: theta 15, false-claim probability 1.17e-10.
  EXPECT_EQ(ds::blackbox_threshold(32, 10, 1e-9), 15);
  EXPECT_LE(ds::binomial_lower_tail(32, 14, 0.9), 1e-9);
}
