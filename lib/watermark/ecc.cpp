// BCH-coded payload rows: encoding, consistency check and decoding with its false-claim rate.
#include "watermark/ecc.h"

#include <cmath>

#include "core/errors.h"
#include "watermark/bch.h"
#include "watermark/stats.h"

namespace ds {

int64_t ecc_field_size(int64_t bits) {
  for (int64_t m = 5; m <= 10; ++m) {
    if ((int64_t(1) << m) == bits) return m;
  }
  return 0;
}

int64_t ecc_data_bits(int64_t bits, int64_t t) {
  int64_t m = ecc_field_size(bits);
  if (m == 0) throw InputError("error correction needs 32, 64, 128, 256, 512 or 1024 bits per carrier");
  try {
    return BchCode(int(m), int(t)).k();
  } catch (const std::invalid_argument&) {
    throw InputError("a BCH code of length " + std::to_string(bits - 1) + " cannot correct " +
                     std::to_string(t) + " errors");
  }
}

torch::Tensor ecc_encode(const torch::Tensor& data, int64_t m, int64_t t) {
  BchCode code{int(m), int(t)};
  torch::Tensor d = data.to(torch::kInt64).contiguous();
  torch::Tensor out = torch::zeros({d.size(0), int64_t(code.n()) + 1}, torch::kInt64);
  for (int64_t r = 0; r < d.size(0); ++r) {
    std::vector<uint8_t> bits(size_t(code.k()));
    for (int64_t i = 0; i < code.k(); ++i) bits[size_t(i)] = uint8_t(d[r][i].item<int64_t>() & 1);
    std::vector<uint8_t> word = code.encode(bits);
    int64_t parity = 0;
    for (int64_t i = 0; i < code.n(); ++i) {
      out[r][i] = int64_t(word[size_t(i)]);
      parity ^= word[size_t(i)];
    }
    out[r][code.n()] = parity;
  }
  return out;
}

std::string check_ecc_payload(const WhiteboxKey& key) {
  int64_t n = key.bits_per_carrier();
  if (key.ecc_m < 5 || key.ecc_m > 10 || (int64_t(1) << key.ecc_m) != n) {
    return "code length does not match the bits per carrier";
  }
  int64_t k = 0;
  try {
    k = BchCode(int(key.ecc_m), int(key.ecc_t)).k();
  } catch (const std::exception&) {
    return "impossible code parameters";
  }
  if (key.payload.dim() != 2 || key.payload.size(0) != key.bits.size(0) || key.payload.size(1) != k) {
    return "payload shape does not match the code";
  }
  if (key.payload.lt(0).any().item<bool>() || key.payload.gt(1).any().item<bool>()) {
    return "payload bits must be 0 or 1";
  }
  if (!torch::equal(ecc_encode(key.payload, key.ecc_m, key.ecc_t), key.bits)) {
    return "the bits are not the encoding of the payload";
  }
  return "";
}

Json EccDecoding::to_json() const {
  return Json{{"code", "bch"},
              {"recovered", recovered},
              {"corrected", corrected},
              {"failed_rows", failed_rows},
              {"false_claim_probability", std::pow(10.0, log10_false_claim)},
              {"log10_false_claim_probability", log10_false_claim}};
}

EccDecoding ecc_decode(const WhiteboxKey& key, const torch::Tensor& bits) {
  BchCode code{int(key.ecc_m), int(key.ecc_t)};
  EccDecoding d;
  d.recovered = true;
  torch::Tensor b = bits.to(torch::kInt64).contiguous();
  for (int64_t r = 0; r < b.size(0); ++r) {
    std::vector<uint8_t> word(size_t(code.n()));
    for (int64_t i = 0; i < code.n(); ++i) word[size_t(i)] = uint8_t(b[r][i].item<int64_t>() & 1);
    BchCode::Decoded out = code.decode(word);
    bool match = out.ok;
    for (int64_t i = 0; match && i < code.k(); ++i) {
      match = int64_t(out.data[size_t(i)]) == key.payload[r][i].item<int64_t>();
    }
    if (!out.ok) ++d.failed_rows;
    if (out.ok) d.corrected += out.corrected;
    d.recovered = d.recovered && match;
    // P[a uniform word lies within t of this row's codeword] = P[Bin(n, 1/2) <= t].
    d.log10_false_claim += log10_binomial_lower_tail(code.n(), code.t(), 0.5);
  }
  return d;
}

}  // namespace ds
