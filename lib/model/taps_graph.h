// Reading a model's `taps` method as a graph: the inlined graph, the value recorded as a tap,
// and the dotted name of a parameter read through attribute accesses. Shared by the walks that
// follow a tap's units (unit_graph.h) and replay the layer that makes one (layer_replay.h).
#pragma once

#include <torch/script.h>

#include <memory>
#include <string>
#include <vector>

namespace ds {

// The `taps` method's graph with every call inlined and constants folded (a copy; the model is
// untouched). InputError when the model has no `taps` method.
std::shared_ptr<torch::jit::Graph> taps_graph(const torch::jit::Module& model);

// The value the graph records as `tap` (dict literal or item assignment), or nullptr. With
// `names`, every tap name recorded, in order.
torch::jit::Value* tap_value(torch::jit::Graph& graph, const std::string& tap,
                             std::vector<std::string>* names = nullptr);

// "layer4.0.bn2.weight" for a chain of GetAttr from the graph's self; "" for anything else.
std::string attr_path(const torch::jit::Value* v);

// "aten::linear" for a node.
std::string node_kind(const torch::jit::Node* n);
bool is_conv_kind(const std::string& k);

}  // namespace ds
