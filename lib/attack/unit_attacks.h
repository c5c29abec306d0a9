// Function-preserving attacks on a tap's units (any model whose graph model/unit_graph.h can
// follow): permutation, positive rescaling across ReLU, dummy units, and all three at once
// ("obfuscate"). The model computes the same function; a reading of the tap in fixed unit order
// no longer finds the mark. Each returns a new module and never modifies its input.
#pragma once

#include <torch/script.h>

#include <cstdint>
#include <memory>
#include <string>

#include "attack/attack.h"

namespace ds {

// Reorders the units of tap `layer` in every tensor that indexes them (the producers' rows, batch
// norms, the readers' columns): the same function, scrambled activations.
torch::jit::Module permute_units(const torch::jit::Module& model, const std::string& layer,
                                 uint64_t seed);

// Multiplies each unit's last affine map (weights and bias, or a batch norm's scale and shift)
// by c in [low, high] (c > 0) and divides the readers' weights on it by c: the same function
// through a ReLU, rescaled activations. InputError when a batch norm reads the units.
torch::jit::Module scale_units(const torch::jit::Module& model, const std::string& layer,
                               double low, double high, uint64_t seed);

// Adds `units` units to tap `layer`: incoming weights drawn like the layer's own, per-unit values
// copied from real units, zero weights where a layer reads them, so the function is unchanged.
// With `shuffle` the units are then permuted so the new ones are not at the end. `info` (the
// model's description, may be empty) records the wider zoo architecture and the taps' widths.
torch::jit::Module add_dummy_units(const torch::jit::Module& model, Json& info,
                                   const std::string& layer, int64_t units, bool shuffle,
                                   uint64_t seed);

// Registry parsers of "permute", "scale", "dummy" and "obfuscate".
std::unique_ptr<Attack> parse_permute_attack(ConfigObject& root, const Json&, const AttackSpec&);
std::unique_ptr<Attack> parse_scale_attack(ConfigObject& root, const Json&, const AttackSpec&);
std::unique_ptr<Attack> parse_dummy_attack(ConfigObject& root, const Json&, const AttackSpec&);
std::unique_ptr<Attack> parse_obfuscate_attack(ConfigObject& root, const Json&, const AttackSpec&);

}  // namespace ds
