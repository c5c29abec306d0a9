// The zoo's layer names and the classifier lookup (see topology.h).
#include "model/topology.h"

#include "core/errors.h"

namespace ds {

std::string dense_layer_name(int k) { return "fc" + std::to_string(k); }
std::string conv_layer_name(int n) { return "conv" + std::to_string(n); }
std::string batch_norm_name(int n) { return "bn" + std::to_string(n); }

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

}  // namespace ds
