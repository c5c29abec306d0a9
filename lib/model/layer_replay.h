// Replays the layer that makes a tap from an earlier tap with the layer's weight swapped: how
// the noise-aware pull sees the marked layer under weight noise, on any model whose graph runs
// tap -> unit-wise operations -> linear or convolution -> unit-wise operations -> tap.
#pragma once

#include <torch/script.h>

#include <memory>
#include <string>
#include <vector>

namespace ds {

class LayerReplay {
 public:
  // InputError naming the tap when its layer is not fed by another tap through unit-wise
  // operations (ReLU, pooling, flattening, dropout) or is followed by anything but those.
  LayerReplay(const torch::jit::Module& model, const std::string& tap);

  const std::string& input_tap() const { return input_tap_; }
  // The making layer's weight: a parameter of the model, shared with it.
  const torch::Tensor& weight() const { return weight_; }
  // The tap recomputed from `input` (the input tap's value for any batch) with `weight` in
  // place of the layer's weight. Dropout is left out: the pull reads undropped activations.
  torch::Tensor operator()(const torch::Tensor& input, const torch::Tensor& weight) const;

 private:
  struct Step {
    mutable torch::jit::Operation op;
    std::vector<c10::IValue> args;  // the running value's and the weight's slots left empty
    size_t value_slot = 0;
    int weight_slot = -1;
  };
  void add_step(const torch::jit::Node* n, const torch::jit::Value* weight_value,
                const torch::jit::Module& model);

  std::shared_ptr<torch::jit::Graph> graph_;  // owns the nodes the operations were made from
  std::string input_tap_;
  torch::Tensor weight_;
  std::vector<Step> steps_;
};

}  // namespace ds
