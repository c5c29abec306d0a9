// Golden values for the binomial tails and the black-box threshold (exact values computed with
// rational arithmetic), including extreme tails far below the smallest double.
#include "watermark/stats.h"

#include <gtest/gtest.h>

#include <cmath>

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

TEST(Normal, UpperTailGoldenValues) {
  EXPECT_NEAR(ds::log10_normal_upper_tail(0.0), -0.3010299956639812, 1e-14);
  EXPECT_NEAR(ds::log10_normal_upper_tail(1.959963984540054), -1.602059991327962, 1e-12);
  EXPECT_NEAR(ds::log10_normal_upper_tail(5.0), -6.542645672390654, 1e-11);
  EXPECT_NEAR(ds::log10_normal_upper_tail(-1.959963984540054), std::log10(0.975), 1e-12);
  // Far below the smallest double (Q(40) = 3.7e-350), continuous across the series' start.
  EXPECT_NEAR(ds::log10_normal_upper_tail(40.0), -349.4370064593458, 1e-9);
  EXPECT_NEAR(ds::log10_normal_upper_tail(100.0), -2173.8715428690343, 1e-8);
  EXPECT_NEAR(ds::log10_normal_upper_tail(35.0), ds::log10_normal_upper_tail(35.0 + 1e-9), 1e-6);
  EXPECT_LT(ds::log10_normal_upper_tail(35.0 + 1e-9), ds::log10_normal_upper_tail(35.0));
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

TEST(Fisher, ClosedFormValues) {
  // One p-value comes back unchanged; two of 0.1: e^-x (1 + x) with x = 2 ln 10.
  EXPECT_NEAR(ds::log10_fisher_combined({-3.0}), -3.0, 1e-12);
  const double x = 2 * std::log(10.0);
  EXPECT_NEAR(ds::log10_fisher_combined({-1.0, -1.0}), std::log10(std::exp(-x) * (1 + x)), 1e-12);
  // Three parts, x = 10: e^-10 (1 + 10 + 50).
  const double l = -10 / std::log(10.0) / 3;
  EXPECT_NEAR(ds::log10_fisher_combined({l, l, l}), std::log10(61 * std::exp(-10.0)), 1e-12);
  EXPECT_DOUBLE_EQ(ds::log10_fisher_combined({0.0, 0.0}), 0.0);
  // Far below the smallest double the log stays finite and ordered.
  EXPECT_LT(ds::log10_fisher_combined({-400.0, -1.0}), ds::log10_fisher_combined({-399.0, -1.0}));
  EXPECT_GT(ds::log10_fisher_combined({-400.0, -1.0}), -402.0);
}
