// Binomial and normal tails for ownership decisions, computed in log space so extreme tails neither
// underflow to a wrong answer nor lose precision.
#pragma once

#include <cstdint>

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

// Black-box decision rule (DeepSigns section 2): the smallest theta such that
// P[Binomial(keys, 1 - 1/classes) <= theta] > p. Ownership holds when mismatches < theta.
int64_t blackbox_threshold(int64_t keys, int64_t classes, double p);

}  // namespace ds
