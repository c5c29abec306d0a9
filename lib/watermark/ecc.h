// Error-corrected white-box payloads: each carrier's N = 2^m bits are a BCH(2^m - 1, k, t)
// codeword of k data bits followed by one overall parity bit. Decoding recovers the data bits
// when at most t of the codeword's bits are wrong.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "core/config.h"
#include "watermark/key_types.h"

namespace ds {

// The field size m with 2^m == bits_per_carrier, or 0 when no BCH length fits.
int64_t ecc_field_size(int64_t bits_per_carrier);

// Data bits per carrier for a code correcting t errors in N-bit rows; throws InputError with
// the reason when the combination is impossible.
int64_t ecc_data_bits(int64_t bits_per_carrier, int64_t t);

// Encodes each row of `data` (carriers x k, 0/1) into an N-bit row (carriers x N).
torch::Tensor ecc_encode(const torch::Tensor& data, int64_t m, int64_t t);

// "" when the key's bits are the encoding of its payload, else what is wrong.
std::string check_ecc_payload(const WhiteboxKey& key);

struct EccDecoding {
  bool recovered = false;      // every carrier's codeword decoded to the owner's data bits
  int64_t corrected = 0;       // bits corrected over all carriers
  int64_t failed_rows = 0;     // rows with more errors than the code corrects
  double log10_false_claim = 0;  // log10 P[an unrelated model's bits decode to the payload]
  Json to_json() const;
};

// Decodes extracted bits (carriers x N) against the key's payload. An unrelated model's bits
// are uniform, so a row decodes to the owner's data with probability P[Bin(2^m - 1, 1/2) <= t].
EccDecoding ecc_decode(const WhiteboxKey& key, const torch::Tensor& bits);

}  // namespace ds
