// Reads a model's `taps` method as an inlined graph (see taps_graph.h).
#include "model/taps_graph.h"

#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/passes/peephole.h>

#include "core/errors.h"

namespace ds {

using torch::jit::Node;
using torch::jit::Value;

std::string node_kind(const Node* n) { return n->kind().toQualString(); }

bool is_conv_kind(const std::string& k) {
  return k == "aten::_convolution" || k == "aten::conv2d" || k == "aten::conv1d";
}

std::string attr_path(const Value* v) {
  std::vector<std::string> parts;
  while (v->node()->kind() == c10::prim::GetAttr) {
    parts.push_back(v->node()->s(c10::attr::name));
    v = v->node()->input(0);
  }
  if (v->node()->kind() != c10::prim::Param || parts.empty()) return "";
  std::string path;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) path += (path.empty() ? "" : ".") + *it;
  return path;
}

std::shared_ptr<torch::jit::Graph> taps_graph(const torch::jit::Module& model) {
  auto method = model.find_method("taps");
  if (!method) throw InputError("model has no 'taps' method");
  auto graph = method->graph()->copy();
  // With the executor's optimisation off (core/runtime.cpp), a callee's body is inlined as it
  // is, its own calls included: inline again until no call is left (one level per pass).
  auto has_calls = [](const torch::jit::Graph& g) {
    for (const Node* n : const_cast<torch::jit::Graph&>(g).nodes())
      if (n->kind() == c10::prim::CallMethod || n->kind() == c10::prim::CallFunction) return true;
    return false;
  };
  for (int pass = 0; pass < 64 && has_calls(*graph); ++pass) torch::jit::Inline(*graph);
  // Folding alone leaves `stride is None` tests from torch.nn.functional (peephole decides
  // them from the types); fold again after it so pooling's arguments become constants.
  torch::jit::ConstantPropagation(graph);
  torch::jit::PeepholeOptimize(graph);
  torch::jit::ConstantPropagation(graph);
  return graph;
}

Value* tap_value(torch::jit::Graph& graph, const std::string& tap, std::vector<std::string>* names) {
  Value* found = nullptr;
  auto key_of = [](Value* k) {
    auto iv = torch::jit::toIValue(k);
    return iv && iv->isString() ? iv->toStringRef() : std::string();
  };
  for (Node* n : graph.nodes()) {
    if (n->kind() == c10::prim::DictConstruct) {
      for (size_t i = 0; i + 1 < n->inputs().size(); i += 2) {
        std::string k = key_of(n->input(i));
        if (names) names->push_back(k);
        if (k == tap) found = n->input(i + 1);
      }
    } else if (node_kind(n) == "aten::_set_item" && n->inputs().size() == 3) {
      std::string k = key_of(n->input(1));
      if (names) names->push_back(k);
      if (k == tap) found = n->input(2);
    }
  }
  return found;
}

}  // namespace ds
