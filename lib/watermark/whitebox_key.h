// DeepSigns white-box watermark, key generation (method: docs/METHOD.md): which tap and classes
// carry the bits, the payload, the projection, the trigger inputs and the realignment profile.
#pragma once

#include <torch/script.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/config.h"
#include "data/dataset.h"
#include "watermark/key_types.h"

namespace ds {

struct WhiteboxKeySpec {
  std::string layer;  // tap to mark; empty: the last hidden tap before logits
  // Classes whose activations carry bits. Empty: the `carrier_count` classes with the largest
  // mean logit margin under the base model on the owner's training data. Marking a class near a
  // decision boundary costs accuracy: on the MLP, class 0 (T-shirt, confused with shirts) cost
  // 0.39 points, class 5 (sandal) 0.27, class 1 (trouser, the largest margin) 0.02.
  std::vector<int64_t> carriers;
  int64_t carrier_count = 1;
  int64_t bits = 64;               // bits per carrier class
  std::string message;             // payload source: SHA-256 expansion of this text ...
  int64_t payload_seed = -1;       // ... or, when message is empty, bits drawn from this seed
  double trigger_fraction = 0.01;  // share of the training set kept as trigger inputs
  // Error correction: "bch" makes each carrier's bits a BCH codeword (plus a parity bit) of
  // fewer data bits, correcting up to ecc_t errors (bits per carrier must be a power of 2).
  std::string ecc = "none";
  int64_t ecc_t = 7;
  // Inputs (from the classes that carry no bits) whose activations form the reference
  // profile for realigned extraction; 0: no profile (extraction reads units in fixed order).
  int64_t profile_count = 512;
};

WhiteboxKeySpec parse_whitebox_key_spec(ConfigObject obj);

// N payload bits from a message: SHA-256(message || counter) streamed, most significant bit
// first. Throws InputError when all bits are equal.
torch::Tensor message_bits(const std::string& message, int64_t n);
// N payload bits from a seed (key's own generator); rejects degenerate payloads too.
torch::Tensor seeded_bits(uint64_t seed, int64_t n);

// Builds the white-box part of a key for `model` from the owner's training data. All randomness
// comes from `key_seed`; `meta` receives how the key was made.
WhiteboxKey make_whitebox_key(const WhiteboxKeySpec& spec, torch::jit::Module& model,
                              const std::string& model_path,
                              const std::vector<int64_t>& input_shape, const Dataset& train,
                              uint64_t key_seed, Json& meta);

// Computes the key's reference profile from `model`: at key generation, the unmarked base
// model (never the marked one; see realign.h).
void refresh_profile(WhiteboxKey& key, torch::jit::Module& model, const std::string& model_path);

}  // namespace ds
