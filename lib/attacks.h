// Model transformations a thief applies to a stolen model: magnitude pruning, weight
// quantisation, weight noise, and the function-preserving transforms of a dense hidden layer
// (neuron permutation, positive rescaling across ReLU, dummy neurons). Each returns a new module
// and never modifies its input. Dense layers follow the zoo's naming: fc1, fc2, ... where fcK+1
// consumes fcK's output after a ReLU.
#pragma once

#include <torch/script.h>

#include <cstdint>
#include <string>
#include <vector>

#include "config.h"

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

// Reorders the units of dense layer `layer` (rows of its weight and bias, columns of the next
// layer's weight): the same function, scrambled activations.
torch::jit::Module permute_units(const torch::jit::Module& model, const std::string& layer,
                                 uint64_t seed);

// Multiplies each unit's incoming weights and bias by c in [low, high] (c > 0) and divides its
// outgoing weights by c: the same function through a ReLU, rescaled activations.
torch::jit::Module scale_units(const torch::jit::Module& model, const std::string& layer,
                               double low, double high, uint64_t seed);

// The dense layer that consumes `layer`'s output ("fc2" for "fc1"); throws InputError if the
// model has no such pair.
std::string next_dense_layer(const torch::jit::Module& model, const std::string& layer);

}  // namespace ds
