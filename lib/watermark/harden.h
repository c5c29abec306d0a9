// Scale hardening of a marked dense layer: a function-preserving rescaling that makes the
// watermark's carrier layer hard to move with Adam-style fine-tuning.
#pragma once

#include <torch/script.h>

#include <string>
#include <utility>
#include <vector>

namespace ds {

// Adam moves every weight by about its learning rate per step, whatever the weight's size, so
// a thief's fine-tuning randomises small weights first. The marked layer's weights are
// multiplied by `weight_gain`, its input by `input_gain` (through the layer that produces it:
// the previous dense layer, the last batch norm or conv of a CNN, or the input normalisation)
// and the consuming layer's weights are divided by `weight_gain * input_gain`. ReLU and max
// pooling are positively homogeneous, so the model computes the same function (checked), and
// the mark reads the same: extraction is invariant to a positive scale.
struct HardenSpec {
  double weight_gain = 1.0;  // > 0; 1 with input_gain 1: off
  double input_gain = 1.0;   // > 0
  bool enabled() const { return weight_gain != 1.0 || input_gain != 1.0; }
};

// Rescales `model` (a zoo MLP or CNN) in place around dense layer `layer` ("fcK"). Throws
// InputError for a model or layer it cannot rescale, std::logic_error if the outputs moved.
void harden_layer(torch::jit::Module& model, const std::string& layer, const HardenSpec& spec,
                  const torch::Tensor& probe);

// The thief's counter, for measuring it: rescales every hidden dense layer (and the batch norm
// that feeds a CNN's first dense layer) to the size a fresh layer has, pushing the difference
// into the next layer, as a function-preserving normalisation before fine-tuning would. Returns
// the factors applied, by layer.
std::vector<std::pair<std::string, double>> rebalance_scales(torch::jit::Module& model);

}  // namespace ds
