// Binary BCH codes of length 2^m - 1 (m = 5..10) correcting up to t errors: systematic
// encoding, and bounded-distance decoding (Berlekamp-Massey, Chien search). Used to protect the
// white-box payload; see docs/FORMATS.md for how codewords are laid out in a key.
#pragma once

#include <cstdint>
#include <vector>

namespace ds {

class BchCode {
 public:
  // Throws std::invalid_argument when m is out of range or t leaves no data bits.
  BchCode(int m, int t);

  int n() const { return n_; }  // code length, 2^m - 1
  int k() const { return k_; }  // data bits
  int t() const { return t_; }  // errors corrected

  // Codeword (n bits, each 0 or 1): the k data bits first, then n - k parity bits.
  std::vector<uint8_t> encode(const std::vector<uint8_t>& data) const;

  struct Decoded {
    bool ok = false;            // a codeword within distance t was found
    int corrected = 0;          // bits flipped to reach it
    std::vector<uint8_t> data;  // its k data bits (empty when !ok)
  };
  // Decodes an n-bit word. Words more than t errors from every codeword fail or, rarely,
  // decode to another codeword: never to one farther than t.
  Decoded decode(std::vector<uint8_t> word) const;

 private:
  int gf_mul(int a, int b) const;
  int m_, n_, k_, t_;
  std::vector<int> exp_, log_;      // GF(2^m) antilog / log tables
  std::vector<uint8_t> generator_;  // g(x) coefficients, degree n - k, lowest first
};

}  // namespace ds
