// Exact binomial tails by log-sum-exp over lgamma terms.
#include "stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace ds {
namespace {

double log_pmf(int64_t n, int64_t i, double log_p, double log_q) {
  return std::lgamma(double(n) + 1) - std::lgamma(double(i) + 1) - std::lgamma(double(n - i) + 1) +
         double(i) * log_p + double(n - i) * log_q;
}

// Natural log of sum_{i=lo..hi} pmf(i).
double log_sum_pmf(int64_t n, int64_t lo, int64_t hi, double p) {
  if (n < 0 || p < 0 || p > 1) throw std::invalid_argument("binomial: bad n or p");
  lo = std::max<int64_t>(lo, 0);
  hi = std::min<int64_t>(hi, n);
  if (lo > hi) return -std::numeric_limits<double>::infinity();
  if (lo == 0 && hi == n) return 0.0;  // the whole distribution, exactly
  if (p == 0) return lo == 0 ? 0.0 : -std::numeric_limits<double>::infinity();
  if (p == 1) return hi == n ? 0.0 : -std::numeric_limits<double>::infinity();
  double log_p = std::log(p), log_q = std::log1p(-p);
  double top = -std::numeric_limits<double>::infinity();
  for (int64_t i = lo; i <= hi; ++i) top = std::max(top, log_pmf(n, i, log_p, log_q));
  double sum = 0;
  for (int64_t i = lo; i <= hi; ++i) sum += std::exp(log_pmf(n, i, log_p, log_q) - top);
  return std::min(0.0, top + std::log(sum));
}

}  // namespace

double log10_binomial_upper_tail(int64_t n, int64_t k, double p) {
  return log_sum_pmf(n, k, n, p) / std::log(10.0);
}

double log10_binomial_lower_tail(int64_t n, int64_t k, double p) {
  return log_sum_pmf(n, 0, k, p) / std::log(10.0);
}

double binomial_upper_tail(int64_t n, int64_t k, double p) {
  return std::pow(10.0, log10_binomial_upper_tail(n, k, p));
}

double binomial_lower_tail(int64_t n, int64_t k, double p) {
  return std::pow(10.0, log10_binomial_lower_tail(n, k, p));
}

int64_t blackbox_threshold(int64_t keys, int64_t classes, double p) {
  if (keys < 1 || classes < 2) throw std::invalid_argument("blackbox_threshold: bad keys/classes");
  double miss = 1.0 - 1.0 / double(classes);
  for (int64_t theta = 0; theta <= keys; ++theta) {
    if (binomial_lower_tail(keys, theta, miss) > p) return theta;
  }
  return keys + 1;
}

}  // namespace ds
