// Function-preserving attacks on a dense hidden layer: neuron permutation, positive rescaling
// across ReLU, dummy neurons, and all three at once ("obfuscate"). The model computes the same
// function; a reading of the layer in fixed unit order no longer finds the mark. Each returns a
// new module and never modifies its input.
#pragma once

#include <torch/script.h>

#include <cstdint>
#include <memory>
#include <string>

#include "attack/attack.h"

namespace ds {

// Reorders the units of dense layer `layer` (rows of its weight and bias, columns of the next
// layer's weight): the same function, scrambled activations.
torch::jit::Module permute_units(const torch::jit::Module& model, const std::string& layer,
                                 uint64_t seed);

// Multiplies each unit's incoming weights and bias by c in [low, high] (c > 0) and divides its
// outgoing weights by c: the same function through a ReLU, rescaled activations.
torch::jit::Module scale_units(const torch::jit::Module& model, const std::string& layer,
                               double low, double high, uint64_t seed);

// Adds `units` neurons to dense layer `layer` of a zoo model (its description `info` records the
// architecture): fresh incoming weights, zero outgoing weights, so the function is unchanged.
// With `shuffle` the layer's units are then permuted so the new ones are not at the end.
// `info` is updated to the wider architecture. Throws InputError for a model without one.
torch::jit::Module add_dummy_units(const torch::jit::Module& model, Json& info,
                                   const std::string& layer, int64_t units, bool shuffle,
                                   uint64_t seed);

// Registry parsers of "permute", "scale", "dummy" and "obfuscate".
std::unique_ptr<Attack> parse_permute_attack(ConfigObject& root, const Json&, const AttackSpec&);
std::unique_ptr<Attack> parse_scale_attack(ConfigObject& root, const Json&, const AttackSpec&);
std::unique_ptr<Attack> parse_dummy_attack(ConfigObject& root, const Json&, const AttackSpec&);
std::unique_ptr<Attack> parse_obfuscate_attack(ConfigObject& root, const Json&, const AttackSpec&);

}  // namespace ds
