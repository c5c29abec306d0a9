// The weight-shifting attack of the watermark-robustness SoK (Lukas et al., IEEE S&P 2022),
// aimed at marks that live in parameters or features: every feature layer's weights move by a
// multiple of their mean over output units plus Gaussian noise scaled to their spread, then
// the model is fine-tuned on its own answers (the unshifted model's soft labels) to win its
// accuracy back.
#pragma once

#include <torch/script.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "attack/attack.h"

namespace ds {

// W <- W - mean_shift * mean_over_units(W) - noise * N(0, std(W)^2) for every attackable weight
// but the classifier's; returns the new module and, in `shifted`, the tensors it moved.
torch::jit::Module shift_weights(const torch::jit::Module& model, double mean_shift, double noise,
                                 uint64_t seed, std::vector<std::string>* shifted = nullptr);

// Registry parser of "weight_shift".
std::unique_ptr<Attack> parse_weight_shift_attack(ConfigObject& root, const Json&,
                                                  const AttackSpec&);

}  // namespace ds
