// Follows a tap's units through the inlined graph of the model's `taps` method (see
// unit_graph.h): backwards to the layers that produce them, forwards to the layers that read
// them, through the operations that keep units apart (ReLU, pooling, dropout, batch norm,
// residual additions, flattening).
#include "model/unit_graph.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/errors.h"
#include "model/model_io.h"
#include "model/taps_graph.h"

namespace ds {

using torch::jit::Node;
using torch::jit::Value;

bool UnitGroup::has_consumer() const {
  return std::any_of(tensors.begin(), tensors.end(), [](const UnitTensor& t) {
    return t.role == UnitTensor::kConsumer;
  });
}

namespace {

// Unit-wise operations: output unit i depends only on input unit i, positively homogeneously.
const std::set<std::string> kUnitWise = {
    "aten::relu",  "aten::relu_",         "aten::max_pool2d", "aten::avg_pool2d",
    "aten::adaptive_avg_pool2d", "aten::dropout", "aten::dropout_", "aten::feature_dropout",
    "aten::contiguous", "aten::clone", "aten::max_pool1d", "aten::adaptive_max_pool2d"};
// Uses that read only a tensor's shape, or record it as a tap.
const std::set<std::string> kIgnoredUses = {"aten::size",      "aten::dim",     "prim::shape",
                                            "aten::len",       "aten::__is__",  "aten::__isnot__",
                                            "prim::DictConstruct", "aten::_set_item"};

std::string kind(const Node* n) { return node_kind(n); }
bool is_add(const std::string& k) { return k == "aten::add" || k == "aten::add_"; }
bool is_conv(const std::string& k) { return is_conv_kind(k); }
// Layers whose weight's rows make units and whose columns read them.
bool is_affine(const std::string& k) { return k == "aten::linear" || is_conv(k); }

enum class Mode { kScaled, kPermuted };

class Walker {
 public:
  // `what` names the units in refusals ("tap 'fc2'", "the input of fc2").
  Walker(const torch::jit::Module& model, std::string tap, std::string what)
      : model_(model), what_(std::move(what)) {
    group_.tap = std::move(tap);
  }

  // `flat`: `start` is a flattened feature map (a dense layer's input).
  UnitGroup run(Value* start, bool flat = false) {
    visit(start, Mode::kScaled, flat);
    while (!work_.empty()) {
      auto [v, mode, flat] = work_.back();
      work_.pop_back();
      backward(v, mode, flat);
      forward(v, mode, flat);
    }
    finish();
    return group_;
  }

  // The nodes that make the units (with their scale): affine layers and batch norms.
  const std::vector<const Node*>& producers() const { return producers_; }

 private:
  struct Item {
    Value* v;
    Mode mode;
    bool flat;  // a flattened feature map: units are blocks of columns
  };

  [[noreturn]] void refuse(const std::string& why) const {
    throw InputError("cannot follow the units of " + what_ + ": " + why);
  }

  void visit(Value* v, Mode mode, bool flat) {
    auto it = seen_.find(v);
    if (it != seen_.end()) {
      if (it->second != mode) unscalable("the units reach one operation both scaled and not");
      return;
    }
    seen_[v] = mode;
    work_.push_back({v, mode, flat});
  }

  void unscalable(const std::string& why) {
    if (group_.unscalable.empty()) group_.unscalable = why;
  }

  void add(const Value* v, int64_t dim, UnitTensor::Role role, const std::string& op) {
    std::string name = attr_path(v);
    const bool tensor = !name.empty() && find_tensor(model_, name).defined();
    if (!tensor) {
      if (v->type()->kind() != c10::TypeKind::TensorType) return;  // a layer without bias
      refuse(op + " takes a weight that is not a parameter of the model");
    }
    push(UnitTensor{name, dim, 1, role});
  }

  // Records a tensor once (a batch norm or layer reached from two sides keeps its first role).
  void push(const UnitTensor& u) {
    for (const auto& t : group_.tensors)
      if (t.name == u.name && t.dim == u.dim) return;
    group_.tensors.push_back(u);
  }

  // A convolution that mixes channels in groups does not keep units apart.
  void require_ungrouped(const Node* n, const std::string& k, const std::string& what) {
    if (!is_conv(k)) return;
    auto g = torch::jit::toIValue(n->input(k == "aten::_convolution" ? 8 : 6));
    if (!g || !g->isInt() || g->toInt() != 1) refuse(what);
  }

  // Both tensor operands of a residual addition carry the same units.
  void visit_addends(const Node* n, Mode mode) {
    for (size_t i = 0; i < 2; ++i)
      if (n->input(i)->type()->kind() == c10::TypeKind::TensorType) visit(n->input(i), mode, false);
  }

  // A batch norm's per-channel tensors: its weight and bias scale its output; its statistics
  // only follow the permutation.
  void batch_norm(const Node* n, Mode mode) {
    std::string weight = attr_path(n->input(1));
    std::string prefix = weight.substr(0, weight.rfind('.'));
    if (weight.empty() || prefix == weight) refuse("a batch norm whose weight is not a parameter");
    auto role = mode == Mode::kScaled ? UnitTensor::kScaled : UnitTensor::kPermuted;
    if (mode == Mode::kScaled) producers_.push_back(n);
    add(n->input(1), 0, role, "batch norm " + prefix);
    add(n->input(2), 0, role, "batch norm " + prefix);
    for (const char* stat : {".running_mean", ".running_var"}) {
      if (find_tensor(model_, prefix + stat).defined())
        push(UnitTensor{prefix + stat, 0, 1, UnitTensor::kPermuted});
    }
  }

  void producer(const Node* n, Mode mode, const std::string& k) {
    require_ungrouped(n, k, "grouped convolution");
    auto role = mode == Mode::kScaled ? UnitTensor::kScaled : UnitTensor::kPermuted;
    if (mode == Mode::kScaled) producers_.push_back(n);
    add(n->input(1), 0, role, k);
    add(n->input(2), 0, role, k);
  }

  void backward(Value* v, Mode mode, bool flat) {
    Node* n = v->node();
    const std::string k = kind(n);
    if (n->kind() == c10::prim::Param) refuse("they come from the model's input");
    if (flat && k == "aten::flatten") return visit(n->input(0), mode, false);
    if (flat) refuse("a flattened map made by " + k);
    if (kUnitWise.count(k)) return visit(n->input(0), mode, false);
    if (is_add(k)) return visit_addends(n, mode);
    if (k == "aten::batch_norm") {
      batch_norm(n, mode);
      return visit(n->input(0), Mode::kPermuted, false);
    }
    if (is_affine(k)) return producer(n, mode, k);
    refuse("they are made by " + k + ", which the transforms cannot follow");
  }

  void consumer(const Node* n, Mode mode, bool flat, const std::string& k) {
    require_ungrouped(n, k, "they are read by a grouped convolution");
    std::string name = attr_path(n->input(1));
    if (name.empty()) refuse(k + " reads them with a weight that is not a parameter");
    auto role = mode == Mode::kScaled ? UnitTensor::kConsumer : UnitTensor::kPermuted;
    push(UnitTensor{name, 1, flat ? -1 : 1, role});  // -1: block from width, in finish()
  }

  void forward(Value* v, Mode mode, bool flat) {
    for (const auto& use : v->uses()) {
      Node* n = use.user;
      const std::string k = kind(n);
      if (kIgnoredUses.count(k)) continue;
      if (n->kind() == c10::prim::ListConstruct || n->kind() == c10::prim::TupleConstruct) {
        // A list of tensors is an argument of the operation that reads them (torch.cat).
        const auto& list_uses = n->output()->uses();
        refuse("they are read by " + (list_uses.empty() ? k : kind(list_uses[0].user)) +
               ", which the transforms cannot follow");
      }
      // An operation whose result is already in the group was reached going backwards.
      if (n->outputs().size() == 1 && seen_.count(n->output())) continue;
      if (use.offset != 0 && !is_add(k)) {
        refuse("they are an argument of " + k);
      }
      if (kUnitWise.count(k)) {
        visit(n->output(), mode, flat);
      } else if (k == "aten::flatten") {
        visit(n->output(), mode, true);
      } else if (is_add(k)) {
        if (flat) refuse("a flattened map is added to another tensor");
        visit(n->output(), mode, false);
        visit_addends(n, mode);
      } else if (k == "aten::batch_norm") {
        if (flat) refuse("a batch norm reads a flattened map");
        if (mode == Mode::kScaled) unscalable("batch norm reads the units (its statistics would change)");
        batch_norm(n, Mode::kPermuted);
        visit(n->output(), Mode::kPermuted, false);
      } else if (is_affine(k)) {
        if (flat && is_conv(k)) refuse("a convolution reads a flattened map");
        consumer(n, mode, flat, k);
      } else {
        refuse("they are read by " + k + ", which the transforms cannot follow");
      }
    }
  }

  // The width from the producers; the blocks of dense layers that read a flattened map.
  void finish() {
    for (const auto& t : group_.tensors) {
      if (t.role != UnitTensor::kConsumer && t.dim == 0) {
        group_.width = require_tensor(model_, t.name).size(0);
        break;
      }
    }
    if (group_.width == 0) refuse("no layer produces them");
    for (auto& t : group_.tensors) {
      const int64_t size = require_tensor(model_, t.name).size(t.dim);
      if (t.block == -1) t.block = size / group_.width;
      if (t.block < 1 || size != t.block * group_.width) {
        refuse(t.name + " has " + std::to_string(size) + " entries along dimension " +
               std::to_string(t.dim) + " for " + std::to_string(group_.width) + " units");
      }
    }
  }

  const torch::jit::Module& model_;
  std::string what_;
  UnitGroup group_;
  std::map<Value*, Mode> seen_;
  std::vector<Item> work_;
  std::vector<const Node*> producers_;
};

}  // namespace

namespace {

// The value recorded as hidden tap `tap`; InputError for a missing tap or the logits.
Value* hidden_tap_value(torch::jit::Graph& graph, const std::string& tap) {
  Value* start = tap_value(graph, tap);
  if (!start) throw InputError("model has no tap '" + tap + "'");
  if (tap == "logits") throw InputError("the logits are the model's output, not hidden units");
  return start;
}

UnitGroup walk_from_tap(const torch::jit::Module& model, torch::jit::Graph& graph,
                        const std::string& tap) {
  return Walker(model, tap, "tap '" + tap + "'").run(hidden_tap_value(graph, tap));
}

}  // namespace

UnitGroup find_unit_group(const torch::jit::Module& model, const std::string& tap) {
  return walk_from_tap(model, *taps_graph(model), tap);
}

namespace {

// The std of the model's own input normalised as [flatten]((x - mean) / std), or "".
std::string input_divisor(const Value* in) {
  const Node* n = in->node();
  if (node_kind(n) == "aten::flatten") n = n->input(0)->node();
  if (node_kind(n) != "aten::div") return "";
  const Node* sub = n->input(0)->node();
  if (node_kind(sub) != "aten::sub" || sub->input(0)->node()->kind() != c10::prim::Param) return "";
  return attr_path(n->input(1));
}

}  // namespace

TapProducer find_tap_producer(const torch::jit::Module& model, const std::string& tap) {
  return find_tap_producer(model, *taps_graph(model), tap);
}

TapProducer find_tap_producer(const torch::jit::Module& model, torch::jit::Graph& graph,
                              const std::string& tap) {
  Walker walker(model, tap, "tap '" + tap + "'");
  TapProducer p;
  p.group = walker.run(hidden_tap_value(graph, tap));
  if (walker.producers().size() != 1) {
    throw InputError("tap '" + tap + "' is made by " + std::to_string(walker.producers().size()) +
                     " layers (a residual addition), not one");
  }
  const Node* n = walker.producers()[0];
  const std::string weight = attr_path(n->input(1));
  p.layer = weight.substr(0, weight.rfind('.'));
  p.batch_norm = node_kind(n) == "aten::batch_norm";
  if (p.batch_norm) return p;
  Value* in = n->input(0);
  p.input_divisor = input_divisor(in);
  if (!p.input_divisor.empty()) return p;
  p.input = Walker(model, "", "the input of " + p.layer)
                .run(in, node_kind(in->node()) == "aten::flatten");
  return p;
}

std::string last_hidden_tap(const torch::jit::Module& model) {
  auto graph = taps_graph(model);
  std::vector<std::string> names;
  tap_value(*graph, "", &names);
  for (auto it = names.rbegin(); it != names.rend(); ++it) {
    if (*it == "logits") continue;
    try {
      if (walk_from_tap(model, *graph, *it).has_consumer()) return *it;
    } catch (const InputError&) {
    }
  }
  throw InputError("model has no tap whose units another layer reads");
}

}  // namespace ds
