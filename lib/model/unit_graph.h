// The units of any TorchScript model's tap, found from its graph: every parameter and buffer
// that indexes them (the layers that produce them, batch norms on the way, the layers that read
// them, across residual additions and flattening), so that permuting, scaling or widening them
// keeps the model's function. Works on the zoo and on user models (torchvision included).
#pragma once

#include <torch/script.h>

#include <string>
#include <vector>

namespace ds {

// A tensor that indexes the units along `dim`, `block` entries per unit (a dense layer reading
// a flattened C x H x W map has H*W columns per channel).
struct UnitTensor {
  enum Role {
    kScaled,    // the last affine map before the tap: scaling it by c scales the units by c
    kPermuted,  // indexes the units but takes no part in scaling (a conv before a batch norm)
    kConsumer,  // reads the units: divided by c when they are scaled by c
  };
  std::string name;  // dotted parameter or buffer name
  int64_t dim = 0;
  int64_t block = 1;
  Role role = kPermuted;
};

struct UnitGroup {
  std::string tap;
  int64_t width = 0;  // number of units (channels of a feature map)
  std::vector<UnitTensor> tensors;
  // Why positive per-unit scaling would not preserve the function; empty when it would.
  std::string unscalable;
  bool has_consumer() const;
};

// The group of `tap`, read from the graph of the model's `taps` method. Throws InputError naming
// the tap and the operation when the graph holds something the units cannot be followed
// through (concatenation, reshaping other than flattening, grouped convolutions, ...).
UnitGroup find_unit_group(const torch::jit::Module& model, const std::string& tap);

// The single layer that makes a tap's units (a linear or convolution, or a batch norm after
// one) and the units that layer reads, for transforms that scale a layer's input as well.
struct TapProducer {
  UnitGroup group;            // the tap's own units
  std::string layer;          // the making layer's prefix ("fc2", "layer4.1.bn2")
  bool batch_norm = false;    // a batch norm makes them: its input's scale never reaches the tap
  // What the layer reads when another layer makes it: scaling this group by c scales the
  // layer's input by c. Empty (width 0) for a batch norm or the model's own input.
  UnitGroup input;
  // When the layer reads the model's input normalised as (x - mean) / std: std's name.
  std::string input_divisor;
};
// InputError naming the tap when it is made by several layers (a residual addition) or its
// producer's input cannot be followed.
TapProducer find_tap_producer(const torch::jit::Module& model, const std::string& tap);
// The same on the model's taps graph (taps_graph.h) already read, for a caller visiting many taps.
TapProducer find_tap_producer(const torch::jit::Module& model, torch::jit::Graph& graph,
                              const std::string& tap);

// The last tap (in the order `taps` returns them, logits excluded) whose units another layer
// reads: the default target of the function-preserving transforms. InputError when none.
std::string last_hidden_tap(const torch::jit::Module& model);

}  // namespace ds
