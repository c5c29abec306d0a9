// How the zoo names its layers (fcK, convN, bnN) and which layer makes the logits. Everything
// that follows a tap's units through a model reads its graph instead (unit_graph.h).
#pragma once

#include <torch/script.h>

#include <string>

namespace ds {

// Layer names the zoo gives its modules (1-based): dense "fc1", conv "conv1", batch norm "bn1".
std::string dense_layer_name(int k);
std::string conv_layer_name(int n);
std::string batch_norm_name(int n);

// The layer that produces the logits: the prefix of the last 2-D "*.weight" parameter.
std::string last_dense_layer(const torch::jit::Module& model);

}  // namespace ds
