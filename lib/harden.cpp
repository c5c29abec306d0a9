// Scale hardening of a marked dense layer (see harden.h).
#include "harden.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "attacks.h"
#include "errors.h"
#include "model_io.h"

namespace ds {
namespace {

// The zoo's class name without its uniqueness counter ("MLP0" -> "MLP").
std::string type_name(const torch::jit::Module& m) {
  auto name = m.type()->name();
  std::string s = name ? name->name() : "";
  while (!s.empty() && std::isdigit(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

// The tensors to multiply by `input_gain` so that `layer`'s input is multiplied by it.
std::vector<torch::Tensor> producer_tensors(const torch::jit::Module& m, const std::string& layer,
                                            bool& divide) {
  divide = false;
  const int k = std::stoi(layer.substr(2));
  if (k > 1) {
    std::string prev = "fc" + std::to_string(k - 1);
    return {find_tensor(m, prev + ".weight"), find_tensor(m, prev + ".bias")};
  }
  if (type_name(m) == "CNN") {
    // The last conv block: batch norm (eval: affine after fixed statistics) or conv with bias,
    // then ReLU and max pooling, both positively homogeneous.
    for (int n = 64; n >= 1; --n) {
      const std::string i = std::to_string(n);
      if (find_tensor(m, "bn" + i + ".weight").defined()) {
        return {find_tensor(m, "bn" + i + ".weight"), find_tensor(m, "bn" + i + ".bias")};
      }
      if (find_tensor(m, "conv" + i + ".weight").defined()) {
        return {find_tensor(m, "conv" + i + ".weight"), find_tensor(m, "conv" + i + ".bias")};
      }
    }
    return {};
  }
  divide = true;  // MLP's first layer: (x - mean) / std
  return {find_tensor(m, "input_std")};
}

}  // namespace

void harden_layer(torch::jit::Module& model, const std::string& layer, const HardenSpec& spec,
                  const torch::Tensor& probe) {
  if (!(spec.weight_gain > 0) || !(spec.input_gain > 0)) {
    throw InputError("hardening gains must be positive");
  }
  if (!spec.enabled()) return;
  const std::string type = type_name(model);
  if (type != "MLP" && type != "CNN") {
    throw InputError("scale hardening supports the zoo's mlp and cnn, not a " +
                     (type.empty() ? std::string("model of unknown type") : type));
  }
  const std::string next = next_dense_layer(model, layer);
  bool divide = false;
  std::vector<torch::Tensor> producer = producer_tensors(model, layer, divide);
  if (producer.empty()) throw InputError("no layer produces the input of " + layer);
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
  torch::Tensor fc1 = find_tensor(model, "fc1.weight");
  if (!fc1.defined()) return applied;
  // A CNN's last batch norm: scales of mean size 1, as initialised.
  if (type_name(model) == "CNN") {
    for (int n = 64; n >= 1; --n) {
      torch::Tensor gamma = find_tensor(model, "bn" + std::to_string(n) + ".weight");
      if (!gamma.defined()) continue;
      const double c = 1.0 / std::max(1e-12, gamma.abs().mean().item<double>());
      gamma.mul_(c);
      find_tensor(model, "bn" + std::to_string(n) + ".bias").mul_(c);
      fc1.div_(c);
      applied.emplace_back("bn" + std::to_string(n), c);
      break;
    }
  }
  // Dense layers: the root-mean-square weight of the default initialisation, U(-b, b) with
  // b = 1/sqrt(fan_in), is b/sqrt(3).
  for (int k = 1; k < 64; ++k) {
    const std::string layer = "fc" + std::to_string(k), next = "fc" + std::to_string(k + 1);
    torch::Tensor w = find_tensor(model, layer + ".weight"), b = find_tensor(model, layer + ".bias");
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
