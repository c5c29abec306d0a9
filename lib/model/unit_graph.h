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

// The last tap (in the order `taps` returns them, logits excluded) whose units another layer
// reads: the default target of the function-preserving transforms. InputError when none.
std::string last_hidden_tap(const torch::jit::Module& model);

}  // namespace ds
