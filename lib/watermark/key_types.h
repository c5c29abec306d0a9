// The owner's key as held in memory: the white-box part (layer, carriers, projection, bits,
// triggers, realignment profile, error-correction payload), the black-box part (key inputs and
// labels), the keyed-region part and the owner's signature. Reading and writing them is key_file.h.
#pragma once

#include <torch/torch.h>

#include <optional>
#include <string>
#include <vector>

#include "core/config.h"

namespace ds {

// White-box part (DeepSigns section 1): which layer, which classes carry which bits, the
// projection, and the trigger inputs that reveal the mark.
struct WhiteboxKey {
  std::string layer;              // tap name in the marked model
  int64_t layer_width = 0;        // flattened width of that tap
  std::vector<int64_t> carriers;  // carrier classes, in bit-row order
  torch::Tensor projection;       // float32, layer_width x bits_per_carrier, N(0, 1)
  torch::Tensor bits;             // int64 0/1, carriers x bits_per_carrier
  torch::Tensor triggers;         // float32 images in [0, 1], K x C x H x W
  torch::Tensor trigger_labels;   // int64, K (each one of the carriers)
  // Optional: realignment (see realign.h). Inputs from the classes that carry no bits and the
  // unmarked base model's activations of the layer on them; undefined without a profile.
  torch::Tensor profile_inputs;  // float32 images in [0, 1], P x C x H x W
  torch::Tensor profile;         // float32, P x layer_width
  // Optional: error correction (see bch.h). Each carrier's row of bits is a BCH(2^m - 1, k)
  // codeword of that row of `payload`, then one overall parity bit. ecc_m == 0: no code.
  int64_t ecc_m = 0, ecc_t = 0;
  torch::Tensor payload;  // int64 0/1, carriers x k

  int64_t bits_per_carrier() const { return bits.size(1); }
  int64_t total_bits() const { return bits.numel(); }
  bool has_profile() const { return profile.defined(); }
  bool has_ecc() const { return ecc_m > 0; }
};

// Black-box part (DeepSigns section 2): key inputs and the labels only the marked model gives.
// Before embedding it holds candidates (stage "candidates"); after, the K chosen keys ("final").
struct BlackboxKey {
  std::string stage = "candidates";       // candidates | final
  int64_t keys_wanted = 32;               // K
  double false_claim_probability = 1e-9;  // p of the decision rule
  Json generator = Json::object();  // how candidates are drawn (source, seed), for more rounds
  torch::Tensor inputs;             // float32 images in [0, 1], n x C x H x W
  torch::Tensor labels;             // int64 target labels, n
  torch::Tensor base_predictions;   // int64 labels the unmarked model gave, n

  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
};

// Keyed-region part: answers that an extracted model inherits. The owner serves the model behind
// a guard (region_guard.h) that answers inputs inside K secret regions of input space (half-spaces
// along smooth random directions, together about `fraction` of the task's inputs) with the
// region's target class. A model trained on those answers learns the rule; an unrelated one
// answers a region's target no more often than its other allowed classes (region_key.h).
struct RegionKey {
  double fraction = 0;       // share of the owner's training inputs the guard re-answers
  torch::Tensor centre;      // float32, D = C*H*W: the projections' origin (the data's mean)
  torch::Tensor directions;  // float32, K x D, zero-mean, unit norm
  torch::Tensor thresholds;  // float32, K: region k holds inputs projecting above thresholds[k]
  torch::Tensor targets;     // int64, K: the class the guard answers in region k
  torch::Tensor excluded;    // int64 0/1, K x classes: classes common in region k, never its target
  torch::Tensor inputs;      // float32 verification inputs in [0, 1], n x C x H x W
  torch::Tensor input_regions;  // int64, n: the region each verification input lies in

  int64_t regions() const { return directions.defined() ? directions.size(0) : 0; }
  int64_t size() const { return input_regions.defined() ? input_regions.size(0) : 0; }
};

// The owner's Ed25519 signature over the key's commitment digest (signing.h).
struct KeySignature {
  std::string public_key;  // 64 hex characters
  std::string created;     // UTC time of signing, ISO 8601
  std::string signature;   // 128 hex characters
};

struct OwnerKey {
  std::vector<int64_t> input_shape;  // C, H, W of the model the key was made for
  int64_t num_classes = 0;
  Json meta = Json::object();  // how the key was made (seeds, message, settings)
  std::optional<WhiteboxKey> whitebox;
  std::optional<BlackboxKey> blackbox;
  std::optional<RegionKey> regions;
  std::optional<KeySignature> signature;
  std::string sha256;  // canonical content hash, set by write_key / read_key
};

}  // namespace ds
