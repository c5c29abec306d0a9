// Scale hardening of a marked dense layer (see harden.h).
#include "watermark/harden.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "core/errors.h"
#include "model/model_io.h"
#include "model/topology.h"

namespace ds {

void harden_layer(torch::jit::Module& model, const std::string& layer, const HardenSpec& spec,
                  const torch::Tensor& probe) {
  if (!(spec.weight_gain > 0) || !(spec.input_gain > 0)) {
    throw InputError("hardening gains must be positive");
  }
  if (!spec.enabled()) return;
  const std::string type = zoo_type(model);
  if (type != "MLP" && type != "CNN") {
    throw InputError("scale hardening supports the zoo's mlp and cnn, not a " +
                     (type.empty() ? std::string("model of unknown type") : type));
  }
  const std::string next = next_dense_layer(model, layer);
  DenseInput input = dense_layer_input(model, layer);
  std::vector<torch::Tensor>& producer = input.scale_tensors;
  const bool divide = input.divide;
  for (const auto& t : producer) {
    if (!t.defined()) throw InputError("cannot rescale the input of " + layer);
  }
  if (!find_tensor(model, layer + ".bias").defined()) {
    throw InputError("scale hardening needs " + layer + " to have a bias");
  }
  const bool was_training = model.is_training();
  model.eval();
  torch::NoGradGuard no_grad;
  torch::Tensor before = model.forward({probe}).toTensor();

  const double s = spec.weight_gain * spec.input_gain;
  for (auto& t : producer) divide ? t.div_(spec.input_gain) : t.mul_(spec.input_gain);
  find_tensor(model, layer + ".weight").mul_(spec.weight_gain);
  find_tensor(model, layer + ".bias").mul_(s);
  find_tensor(model, next + ".weight").div_(s);

  torch::Tensor after = model.forward({probe}).toTensor();
  if (was_training) model.train();
  const double moved = (after - before).abs().max().item<double>();
  const double size = before.abs().max().item<double>();
  if (!(moved <= 1e-3 * std::max(1.0, size))) {
    throw std::logic_error("scale hardening changed the model's outputs by " +
                           std::to_string(moved));
  }
}

std::vector<std::pair<std::string, double>> rebalance_scales(torch::jit::Module& model) {
  std::vector<std::pair<std::string, double>> applied;
  torch::NoGradGuard no_grad;
  torch::Tensor fc1 = find_tensor(model, dense_layer_name(1) + ".weight");
  if (!fc1.defined()) return applied;
  // A CNN's last batch norm: scales of mean size 1, as initialised.
  if (zoo_type(model) == "CNN") {
    for (int n = 64; n >= 1; --n) {
      const std::string bn = batch_norm_name(n);
      torch::Tensor gamma = find_tensor(model, bn + ".weight");
      if (!gamma.defined()) continue;
      const double c = 1.0 / std::max(1e-12, gamma.abs().mean().item<double>());
      gamma.mul_(c);
      find_tensor(model, bn + ".bias").mul_(c);
      fc1.div_(c);
      applied.emplace_back(bn, c);
      break;
    }
  }
  // Dense layers: the root-mean-square weight of the default initialisation, U(-b, b) with
  // b = 1/sqrt(fan_in), is b/sqrt(3).
  for (int k = 1; k < 64; ++k) {
    const std::string layer = dense_layer_name(k), next = dense_layer_name(k + 1);
    torch::Tensor w = find_tensor(model, layer + ".weight"),
                  b = find_tensor(model, layer + ".bias");
    torch::Tensor w_next = find_tensor(model, next + ".weight");
    if (!w.defined() || !w_next.defined() || w.dim() != 2) break;
    const double target = 1.0 / std::sqrt(3.0 * double(w.size(1)));
    const double rms = w.pow(2).mean().sqrt().item<double>();
    if (!(rms > 0)) continue;
    const double c = target / rms;
    w.mul_(c);
    if (b.defined()) b.mul_(c);
    w_next.div_(c);
    applied.emplace_back(layer, c);
  }
  return applied;
}

}  // namespace ds
