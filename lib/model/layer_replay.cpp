// Replays a tap's layer from an earlier tap with a swapped weight (see layer_replay.h).
#include "model/layer_replay.h"

#include <map>
#include <set>

#include "core/errors.h"
#include "model/model_io.h"
#include "model/taps_graph.h"

namespace ds {

using torch::jit::Node;
using torch::jit::Value;

namespace {

const std::set<std::string> kReplayed = {"aten::relu",       "aten::max_pool2d", "aten::avg_pool2d",
                                         "aten::adaptive_avg_pool2d", "aten::flatten",
                                         "aten::max_pool1d", "aten::contiguous"};
const std::set<std::string> kSkipped = {"aten::dropout", "aten::feature_dropout"};

bool is_layer(const std::string& k) { return k == "aten::linear" || is_conv_kind(k); }

}  // namespace

LayerReplay::LayerReplay(const torch::jit::Module& model, const std::string& tap)
    : graph_(taps_graph(model)) {
  auto refuse = [&](const std::string& why) -> void {
    throw InputError("cannot recompute tap '" + tap + "' from an earlier tap: " + why);
  };
  std::vector<std::string> names;
  Value* v = tap_value(*graph_, tap, &names);
  if (!v || tap == "logits") throw InputError("model has no hidden tap '" + tap + "'");
  std::map<const Value*, std::string> tap_of;  // the other taps, by the value they record
  for (const auto& name : names)
    if (name != tap) tap_of.emplace(tap_value(*graph_, name), name);
  // Walk back from the tap to the layer, then to a tap that feeds it; replay in reverse.
  std::vector<const Node*> chain;
  const Node* layer = nullptr;
  while (input_tap_.empty()) {
    const Node* n = v->node();
    const std::string k = node_kind(n);
    if (layer && tap_of.count(v)) {
      input_tap_ = tap_of.at(v);
      break;
    }
    if (n->kind() == c10::prim::Param) refuse("no tap holds its layer's input");
    if (is_layer(k) && !layer) {
      layer = n;
    } else if (!kReplayed.count(k) && !kSkipped.count(k)) {
      refuse(layer ? "its layer's input is made by " + k : "it is made through " + k);
    }
    if (!kSkipped.count(k)) chain.push_back(n);
    v = n->input(0);
  }
  const std::string weight = attr_path(layer->input(1));
  weight_ = find_tensor(model, weight);
  if (weight.empty() || !weight_.defined()) refuse("its layer's weight is not a parameter");
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) add_step(*it, layer->input(1), model);
}

void LayerReplay::add_step(const Node* n, const Value* weight_value,
                           const torch::jit::Module& model) {
  Step s{n->getOperation(), {}, 0, -1};
  for (size_t i = 0; i < n->inputs().size(); ++i) {
    const Value* in = n->input(i);
    if (i == 0) {
      s.value_slot = 0;
      s.args.emplace_back();
    } else if (in == weight_value) {
      s.weight_slot = int(i);
      s.args.emplace_back();
    } else if (auto c = torch::jit::toIValue(in)) {
      s.args.push_back(*c);
    } else if (torch::Tensor t = find_tensor(model, attr_path(in)); t.defined()) {
      s.args.emplace_back(t);
    } else {
      throw InputError("cannot recompute through " + node_kind(n) +
                       ": an argument is neither a constant nor a parameter");
    }
  }
  steps_.push_back(std::move(s));
}

torch::Tensor LayerReplay::operator()(const torch::Tensor& input, const torch::Tensor& weight) const {
  torch::Tensor v = input;
  for (const Step& s : steps_) {
    torch::jit::Stack stack = s.args;
    stack[s.value_slot] = v;
    if (s.weight_slot >= 0) stack[size_t(s.weight_slot)] = weight;
    s.op(stack);
    v = stack.back().toTensor();
  }
  return v;
}

}  // namespace ds
