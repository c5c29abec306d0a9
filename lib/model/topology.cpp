// Layer names and producer/consumer lookups of the zoo's models (see topology.h).
#include "model/topology.h"

#include <cctype>

#include "core/errors.h"
#include "model/model_io.h"

namespace ds {

// The deepest conv block a zoo model may have; names are looked up from there down.
constexpr int kMaxLayers = 64;

std::string dense_layer_name(int k) { return "fc" + std::to_string(k); }
std::string conv_layer_name(int n) { return "conv" + std::to_string(n); }
std::string batch_norm_name(int n) { return "bn" + std::to_string(n); }

int dense_layer_index(const std::string& layer) {
  if (layer.size() < 3 || layer.compare(0, 2, "fc") != 0) return 0;
  for (size_t i = 2; i < layer.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(layer[i]))) return 0;
  }
  return layer.size() > 6 ? 0 : std::stoi(layer.substr(2));
}

std::string zoo_type(const torch::jit::Module& model) {
  auto name = model.type()->name();
  std::string s = name ? name->name() : "";
  while (!s.empty() && std::isdigit(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

std::string next_dense_layer(const torch::jit::Module& model, const std::string& layer) {
  const int k = dense_layer_index(layer);
  if (k == 0) {
    throw InputError("function-preserving transforms need a dense layer named fcK, got '" + layer +
                     "'");
  }
  const std::string next = dense_layer_name(k + 1);
  if (!find_tensor(model, layer + ".weight").defined() ||
      !find_tensor(model, next + ".weight").defined()) {
    throw InputError("model has no dense pair " + layer + " -> " + next);
  }
  return next;
}

std::string last_dense_layer(const torch::jit::Module& model) {
  std::string last;
  for (const auto& p : model.named_parameters()) {
    const std::string& n = p.name;
    if (p.value.dim() == 2 && n.size() >= 7 && n.compare(n.size() - 7, 7, ".weight") == 0) {
      last = n.substr(0, n.size() - 7);
    }
  }
  if (last.empty()) throw InputError("model has no dense layer");
  return last;
}

std::string last_hidden_dense_layer(const torch::jit::Module& model) {
  std::string last;
  for (int k = 1; k < kMaxLayers; ++k) {
    try {
      next_dense_layer(model, dense_layer_name(k));
      last = dense_layer_name(k);
    } catch (const InputError&) {
      break;
    }
  }
  if (last.empty()) throw InputError("model has no pair of dense layers fcK -> fcK+1");
  return last;
}

DenseInput dense_layer_input(const torch::jit::Module& model, const std::string& layer) {
  const int k = dense_layer_index(layer);
  if (k == 0) throw InputError("'" + layer + "' is not a dense layer fcK");
  DenseInput in;
  if (k > 1) {
    in.tap = dense_layer_name(k - 1);
    in.scale_tensors = {find_tensor(model, in.tap + ".weight"),
                        find_tensor(model, in.tap + ".bias")};
    return in;
  }
  if (zoo_type(model) != "CNN") {
    in.divide = true;  // the MLP's first layer reads (x - mean) / std
    in.scale_tensors = {find_tensor(model, "input_std")};
    return in;
  }
  // The last conv block: conv, batch norm (eval: affine after fixed statistics) or the conv's
  // bias, then ReLU and max pooling, both positively homogeneous.
  in.pooled = true;
  for (int n = kMaxLayers; n >= 1 && in.tap.empty(); --n) {
    const std::string conv = conv_layer_name(n), bn = batch_norm_name(n);
    if (!find_tensor(model, conv + ".weight").defined()) continue;
    in.tap = conv;
    const std::string& affine = find_tensor(model, bn + ".weight").defined() ? bn : conv;
    in.scale_tensors = {find_tensor(model, affine + ".weight"),
                        find_tensor(model, affine + ".bias")};
  }
  if (in.tap.empty()) throw InputError("no layer produces the input of " + layer);
  return in;
}

}  // namespace ds
