// Scale hardening of a marked tap: a function-preserving rescaling that makes the watermark's
// carrier layer hard to move with Adam-style fine-tuning. Works on any model whose graph
// model/unit_graph.h can follow.
#pragma once

#include <torch/script.h>

#include <string>
#include <utility>
#include <vector>

namespace ds {

// Adam moves every weight by about its learning rate per step, whatever the weight's size, so
// a thief's fine-tuning randomises small weights first. The marked layer's weights are
// multiplied by `weight_gain`, its input by `input_gain` (through the layers that produce that
// input: the previous layer, a batch norm, or the input normalisation's std) and the layers
// reading the tap are divided by `weight_gain * input_gain`. ReLU and pooling are positively
// homogeneous, so the model computes the same function (checked), and the mark reads the same:
// extraction is invariant to a positive scale. A tap made by a batch norm takes weight_gain
// only (the norm removes its input's scale).
struct HardenSpec {
  double weight_gain = 1.0;  // > 0; 1 with input_gain 1: off
  double input_gain = 1.0;   // > 0
  bool enabled() const { return weight_gain != 1.0 || input_gain != 1.0; }
};

// Rescales `model` in place around tap `layer`. Throws InputError naming the tap for a model
// it cannot rescale there, std::logic_error if the outputs moved.
void harden_layer(torch::jit::Module& model, const std::string& layer, const HardenSpec& spec,
                  const torch::Tensor& probe);

// The InputError harden_layer would throw, without touching the model: checked before training.
void check_hardening(const torch::jit::Module& model, const std::string& layer,
                     const HardenSpec& spec);

// The thief's counter, for measuring it: rescales the layer making every hidden tap that a
// dense layer reads (the zoo: every hidden dense layer, and the batch norm feeding a CNN's
// first dense layer) to the size a fresh layer has, pushing the difference into the readers,
// as a function-preserving normalisation before fine-tuning would. Taps made by several layers
// (residual additions) are left alone. Returns the factors applied, by layer.
std::vector<std::pair<std::string, double>> rebalance_scales(torch::jit::Module& model);

}  // namespace ds
