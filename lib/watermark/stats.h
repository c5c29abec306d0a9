// Binomial, normal and chi-square tails for ownership decisions, computed in log space so extreme tails neither
// underflow to a wrong answer nor lose precision.
#pragma once

#include <cstdint>
#include <vector>

namespace ds {

// log10 of P[X >= k] for X ~ Binomial(n, p).
double log10_binomial_upper_tail(int64_t n, int64_t k, double p);
// log10 of P[X <= k] for X ~ Binomial(n, p).
double log10_binomial_lower_tail(int64_t n, int64_t k, double p);

// P[X >= k] and P[X <= k]; 0 only where the true value is below the smallest double.
double binomial_upper_tail(int64_t n, int64_t k, double p);
double binomial_lower_tail(int64_t n, int64_t k, double p);

// log10 of P[Z >= z] for Z ~ N(0, 1): exact to double precision, also far below the smallest
// double (an asymptotic series beyond z = 35).
double log10_normal_upper_tail(double z);

// Fisher's combination of independent p-values, given as log10: log10 of P[chi^2(2k) >= X] with
// X = -2 sum ln p_i. Valid for p-values that are exact or conservative (discrete tests), as long
// as they are independent under the null; k = 1 gives the p-value back.
double log10_fisher_combined(const std::vector<double>& log10_p);

// Black-box decision rule (DeepSigns section 2): the smallest theta such that
// P[Binomial(keys, 1 - 1/classes) <= theta] > p. Ownership holds when mismatches < theta.
int64_t blackbox_threshold(int64_t keys, int64_t classes, double p);

}  // namespace ds
