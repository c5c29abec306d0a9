// Exact binomial tails by log-sum-exp over lgamma terms; the normal tail via erfc; Fisher's
// chi-square tail in closed form.
#include "watermark/stats.h"

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

double log10_normal_upper_tail(double z) {
  if (std::isnan(z)) throw std::invalid_argument("normal tail: z is not a number");
  if (z <= 35.0) return std::log10(0.5 * std::erfc(z / std::sqrt(2.0)));
  // Q(z) = phi(z) / z * (1 - 1/z^2 + 3/z^4 - 15/z^6 + ...); at z > 35 six terms are exact to
  // double precision.
  const double r = 1.0 / (z * z);
  const double series = 1 - r * (1 - 3 * r * (1 - 5 * r * (1 - 7 * r * (1 - 9 * r))));
  return (-0.5 * z * z - std::log(z * std::sqrt(2.0 * M_PI)) + std::log(series)) / std::log(10.0);
}

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

double log10_fisher_combined(const std::vector<double>& log10_p) {
  if (log10_p.empty()) throw std::invalid_argument("fisher: no p-values");
  // x = X / 2 = -sum ln p_i; P[chi^2(2k) >= 2x] = e^-x sum_{j<k} x^j / j!, summed in log space
  // so that p-values far below the smallest double still combine exactly.
  double x = 0;
  for (double l : log10_p) x -= std::min(0.0, l) * std::log(10.0);
  if (x == 0) return 0.0;
  std::vector<double> terms;
  for (size_t j = 0; j < log10_p.size(); ++j) {
    terms.push_back(double(j) * std::log(x) - std::lgamma(double(j) + 1));
  }
  double top = *std::max_element(terms.begin(), terms.end()), sum = 0;
  for (double t : terms) sum += std::exp(t - top);
  return std::min(0.0, (-x + top + std::log(sum)) / std::log(10.0));
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
