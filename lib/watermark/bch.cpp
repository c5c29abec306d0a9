// BCH over GF(2^m): generator from the minimal polynomials of alpha^1 .. alpha^2t; systematic
// encoding by polynomial division; decoding by syndromes, Berlekamp-Massey and Chien search.
#include "watermark/bch.h"

#include <set>
#include <stdexcept>

namespace ds {
namespace {

// Primitive polynomials (bit i: coefficient of x^i).
int primitive_polynomial(int m) {
  switch (m) {
    case 5: return 0x25;    // x^5 + x^2 + 1
    case 6: return 0x43;    // x^6 + x + 1
    case 7: return 0x89;    // x^7 + x^3 + 1
    case 8: return 0x11d;   // x^8 + x^4 + x^3 + x^2 + 1
    case 9: return 0x211;   // x^9 + x^4 + 1
    case 10: return 0x409;  // x^10 + x^3 + 1
    default: throw std::invalid_argument("BCH field size m must be in 5..10");
  }
}

}  // namespace

BchCode::BchCode(int m, int t) : m_(m), n_((1 << m) - 1), k_(0), t_(t) {
  int poly = primitive_polynomial(m);
  if (t < 1) throw std::invalid_argument("BCH must correct at least one error");
  exp_.assign(size_t(2 * n_), 0);
  log_.assign(size_t(n_ + 1), -1);
  int x = 1;
  for (int i = 0; i < n_; ++i) {
    exp_[size_t(i)] = x;
    log_[size_t(x)] = i;
    x <<= 1;
    if (x & (1 << m)) x ^= poly;
  }
  for (int i = n_; i < 2 * n_; ++i) exp_[size_t(i)] = exp_[size_t(i - n_)];
  // g(x) = product over the distinct cyclotomic cosets of 1..2t of their minimal polynomials.
  std::vector<int> g = {1};  // coefficients in GF(2^m), lowest first
  std::set<int> done;
  for (int i = 1; i <= 2 * t; ++i) {
    if (done.count(i % n_)) continue;
    std::vector<int> coset;
    for (int c = i % n_; !done.count(c); c = (2 * c) % n_) {
      done.insert(c);
      coset.push_back(c);
    }
    for (int c : coset) {  // g *= (x + alpha^c)
      std::vector<int> next(g.size() + 1, 0);
      for (size_t j = 0; j < g.size(); ++j) {
        next[j + 1] ^= g[j];
        next[j] ^= gf_mul(g[j], exp_[size_t(c)]);
      }
      g = next;
    }
  }
  k_ = n_ - int(g.size() - 1);
  if (k_ < 1) throw std::invalid_argument("BCH: t is too large for this length");
  for (int c : g) {
    if (c > 1) throw std::logic_error("BCH generator has a non-binary coefficient");
    generator_.push_back(uint8_t(c));
  }
}

int BchCode::gf_mul(int a, int b) const {
  if (a == 0 || b == 0) return 0;
  return exp_[size_t(log_[size_t(a)] + log_[size_t(b)])];
}

std::vector<uint8_t> BchCode::encode(const std::vector<uint8_t>& data) const {
  if (int(data.size()) != k_) throw std::invalid_argument("BCH: wrong number of data bits");
  const int r = n_ - k_;
  // Codeword polynomial c(x) = d(x) x^r + (d(x) x^r mod g(x)); position i holds the coefficient
  // of x^(n-1-i), so the data bits come first in the word.
  std::vector<uint8_t> rem(size_t(r), 0);  // remainder coefficients, highest first
  for (int i = 0; i < k_; ++i) {
    uint8_t feedback = uint8_t((data[size_t(i)] & 1) ^ rem[0]);
    for (int j = 0; j < r - 1; ++j) {
      rem[size_t(j)] = uint8_t(rem[size_t(j + 1)] ^ (feedback & generator_[size_t(r - 1 - j)]));
    }
    rem[size_t(r - 1)] = uint8_t(feedback & generator_[0]);
  }
  std::vector<uint8_t> word(data.begin(), data.end());
  for (auto& b : word) b &= 1;
  word.insert(word.end(), rem.begin(), rem.end());
  return word;
}

BchCode::Decoded BchCode::decode(std::vector<uint8_t> word) const {
  if (int(word.size()) != n_) throw std::invalid_argument("BCH: wrong word length");
  // Position i is the coefficient of x^(n-1-i). Syndromes S_j = r(alpha^j), j = 1..2t.
  std::vector<int> s(size_t(2 * t_ + 1), 0);
  bool clean = true;
  for (int j = 1; j <= 2 * t_; ++j) {
    int v = 0;
    for (int i = 0; i < n_; ++i) {
      if (word[size_t(i)] & 1) v ^= exp_[size_t((j * (n_ - 1 - i)) % n_)];
    }
    s[size_t(j)] = v;
    clean = clean && v == 0;
  }
  Decoded out;
  if (!clean) {
    // Berlekamp-Massey: error locator sigma(x), lowest first.
    std::vector<int> sigma = {1}, prev = {1};
    int l = 0, shift = 1, prev_d = 1;
    for (int r = 1; r <= 2 * t_; ++r) {
      int d = s[size_t(r)];
      for (int i = 1; i <= l && i < int(sigma.size()); ++i) d ^= gf_mul(sigma[size_t(i)], s[size_t(r - i)]);
      if (d == 0) {
        ++shift;
        continue;
      }
      int coef = gf_mul(d, exp_[size_t((n_ - log_[size_t(prev_d)]) % n_)]);
      std::vector<int> next = sigma;
      if (next.size() < prev.size() + size_t(shift)) next.resize(prev.size() + size_t(shift), 0);
      for (size_t i = 0; i < prev.size(); ++i) next[i + size_t(shift)] ^= gf_mul(coef, prev[i]);
      if (2 * l <= r - 1) {
        prev = sigma;
        prev_d = d;
        l = r - l;
        shift = 1;
      } else {
        ++shift;
      }
      sigma = next;
    }
    while (sigma.size() > 1 && sigma.back() == 0) sigma.pop_back();
    int degree = int(sigma.size()) - 1;
    if (degree != l || l > t_) return out;
    // Chien search: an error at exponent e (position n-1-e) when sigma(alpha^-e) = 0.
    int found = 0;
    for (int e = 0; e < n_; ++e) {
      int v = 0;
      for (int i = 0; i <= degree; ++i) {
        if (sigma[size_t(i)]) v ^= gf_mul(sigma[size_t(i)], exp_[size_t((i * (n_ - e)) % n_)]);
      }
      if (v == 0) {
        word[size_t(n_ - 1 - e)] ^= 1;
        ++found;
      }
    }
    if (found != degree) return out;
    out.corrected = found;
  }
  out.ok = true;
  out.data.assign(word.begin(), word.begin() + k_);
  return out;
}

}  // namespace ds
