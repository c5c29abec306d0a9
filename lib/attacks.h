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
#include "data.h"
#include "train.h"
#include "zoo.h"

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

// Adds `units` neurons to dense layer `layer` of a zoo model (its description `info` records the
// architecture): fresh incoming weights, zero outgoing weights, so the function is unchanged.
// With `shuffle` the layer's units are then permuted so the new ones are not at the end.
// `info` is updated to the wider architecture. Throws InputError for a model without one.
torch::jit::Module add_dummy_units(const torch::jit::Module& model, Json& info,
                                   const std::string& layer, int64_t units, bool shuffle,
                                   uint64_t seed);

// The layer that produces the logits: the prefix of the last 2-D "*.weight" parameter.
std::string last_dense_layer(const torch::jit::Module& model);

// Fine-tuning attacks of Adi et al.: FTLL / FTAL fine-tune the last layer / all layers; RTLL /
// RTAL first re-initialise the last layer (uniform +-1/sqrt(fan_in), PyTorch's Linear default).
struct FinetuneSpec {
  std::string mode = "ftal";  // ftll | ftal | rtll | rtal
  OptimizerSpec optimizer;
  int64_t epochs = 1;
  int64_t batch_size = 64;
  // First undo any scale hardening (rebalance_scales in harden.h): the adaptive thief.
  bool rebalance = false;
};
struct AttackTraining {
  torch::jit::Module model;
  std::vector<EpochStats> epochs;
};
AttackTraining finetune_model(const torch::jit::Module& model, const FinetuneSpec& spec,
                              const Dataset& attacker_data, uint64_t seed);

// Distillation: a fresh `student` trained on the suspect's soft labels (temperature T, loss
// KL * T^2) over the attacker's data; the attacker's own labels are not used. The student's
// normalisation comes from the attacker's data.
struct DistillSpec {
  ArchSpec student;
  double temperature = 4.0;
  OptimizerSpec optimizer;
  int64_t epochs = 5;
  int64_t batch_size = 128;
};
AttackTraining distill_model(torch::jit::Module& teacher, const DistillSpec& spec,
                             const Dataset& attacker_data, uint64_t seed, InputSpec* student_input);

// The dense layer that consumes `layer`'s output ("fc2" for "fc1"); throws InputError if the
// model has no such pair.
std::string next_dense_layer(const torch::jit::Module& model, const std::string& layer);

}  // namespace ds
