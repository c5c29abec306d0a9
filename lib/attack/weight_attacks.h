// Attacks on the weights alone: magnitude pruning, uniform quantisation and Gaussian noise.
// Each returns a new module and never modifies its input.
#pragma once

#include <torch/script.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "attack/attack.h"

namespace ds {

// Weight tensors an attack may touch: parameters named "*.weight" with 2 or more dimensions
// (dense and conv kernels; batch-norm scales and biases are left alone).
std::vector<std::string> attackable_weights(const torch::jit::Module& model);

// Sets the `rate` share of smallest-magnitude weights to zero, ranked across all attackable
// weights (global) or within each tensor. Structured: removes whole output units (rows of dense
// weights, output channels of convs) with the smallest L2 norm, per tensor, with their biases.
torch::jit::Module prune_magnitude(const torch::jit::Module& model, double rate, bool global,
                                   bool structured);

// Uniform k-bit quantisation of every attackable weight over its [min, max] range, per tensor
// or per output channel: at most 2^bits distinct values in each.
torch::jit::Module quantize_weights(const torch::jit::Module& model, int bits, bool per_channel);

// Adds N(0, (scale * std(tensor))^2) noise to every attackable weight.
torch::jit::Module add_weight_noise(const torch::jit::Module& model, double scale, uint64_t seed);

// Registry parsers of "prune", "quantize" and "noise".
std::unique_ptr<Attack> parse_prune_attack(ConfigObject& root, const Json&, const AttackSpec&);
std::unique_ptr<Attack> parse_quantize_attack(ConfigObject& root, const Json&, const AttackSpec&);
std::unique_ptr<Attack> parse_noise_attack(ConfigObject& root, const Json&, const AttackSpec&);

}  // namespace ds
