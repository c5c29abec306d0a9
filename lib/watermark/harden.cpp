// Scale hardening of a marked tap and the thief's rebalancing (see harden.h), on any model
// whose graph model/unit_graph.h can follow.
#include "watermark/harden.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <vector>

#include "core/errors.h"
#include "model/model_io.h"
#include "model/taps_graph.h"
#include "model/unit_graph.h"

namespace ds {
namespace {

// Uniform rescalings collected per tensor and applied once: times `mul`, then divided by `div`
// (a division, not a multiplication by the inverse, keeps powers of two exact).
struct Factor {
  double mul = 1.0, div = 1.0;
};
using Factors = std::map<std::string, Factor>;

// Scaling a group's units by c: the last affine maps making them times c, their readers over c.
void scale_group(Factors& f, const UnitGroup& g, double c) {
  for (const UnitTensor& u : g.tensors) {
    if (u.role == UnitTensor::kScaled) f[u.name].mul *= c;
    if (u.role == UnitTensor::kConsumer) f[u.name].div *= c;
  }
}

void apply_factors(torch::jit::Module& model, const Factors& factors) {
  torch::NoGradGuard no_grad;
  for (const auto& [name, f] : factors) {
    torch::Tensor t = require_tensor(model, name);
    if (f.mul != 1.0) t.mul_(f.mul);
    if (f.div != 1.0) t.div_(f.div);
  }
}

// The factors of hardening `tap` (see harden.h); InputError naming the tap or field when the
// model cannot be rescaled there.
Factors hardening_factors(const torch::jit::Module& model, const std::string& tap,
                          const HardenSpec& spec) {
  TapProducer p = find_tap_producer(model, tap);
  const std::string what = "cannot harden tap '" + tap + "': ";
  if (!p.group.unscalable.empty()) throw InputError(what + p.group.unscalable);
  if (!p.group.has_consumer()) throw InputError(what + "no layer reads its units");
  Factors f;
  scale_group(f, p.group, spec.weight_gain * spec.input_gain);
  if (spec.input_gain == 1.0) return f;
  if (p.batch_norm) {
    throw InputError(what + "batch norm " + p.layer +
                     " makes it and removes its input's scale; set harden.input_gain to 1");
  }
  if (!p.input_divisor.empty()) {
    // (x - mean) / std: a larger std for a smaller input, which the layer's weight undoes.
    f[p.input_divisor].div *= spec.input_gain;
    f[p.layer + ".weight"].div *= spec.input_gain;
  } else if (!p.input.unscalable.empty()) {
    throw InputError(what + "the input of " + p.layer + " cannot be rescaled (" +
                     p.input.unscalable + "); set harden.input_gain to 1");
  } else {
    scale_group(f, p.input, spec.input_gain);
  }
  return f;
}

}  // namespace

void check_hardening(const torch::jit::Module& model, const std::string& layer,
                     const HardenSpec& spec) {
  if (spec.enabled()) hardening_factors(model, layer, spec);
}

void harden_layer(torch::jit::Module& model, const std::string& layer, const HardenSpec& spec,
                  const torch::Tensor& probe) {
  if (!(spec.weight_gain > 0) || !(spec.input_gain > 0)) {
    throw InputError("hardening gains must be positive");
  }
  if (!spec.enabled()) return;
  const Factors factors = hardening_factors(model, layer, spec);
  const bool was_training = model.is_training();
  model.eval();
  torch::NoGradGuard no_grad;
  torch::Tensor before = model.forward({probe}).toTensor();
  apply_factors(model, factors);
  torch::Tensor after = model.forward({probe}).toTensor();
  if (was_training) model.train();
  const double moved = (after - before).abs().max().item<double>();
  const double size = before.abs().max().item<double>();
  if (!(moved <= 1e-3 * std::max(1.0, size))) {
    throw std::logic_error("scale hardening changed the model's outputs by " +
                           std::to_string(moved));
  }
}

namespace {

// The factor that brings a tap's making layer to the size a fresh one has: a batch norm's
// scales to mean 1; a linear or conv weight to the root-mean-square of the default
// initialisation, U(-b, b) with b = 1/sqrt(fan_in), which is b/sqrt(3). 0: leave it.
double fresh_size_factor(const torch::jit::Module& model, const TapProducer& p) {
  torch::Tensor w = require_tensor(model, p.layer + ".weight");
  if (p.batch_norm) return 1.0 / std::max(1e-12, w.abs().mean().item<double>());
  const double target = 1.0 / std::sqrt(3.0 * double(w.numel() / w.size(0)));
  const double rms = w.pow(2).mean().sqrt().item<double>();
  return rms > 0 ? target / rms : 0.0;
}

bool read_by_dense_layer(const torch::jit::Module& model, const UnitGroup& g) {
  return std::any_of(g.tensors.begin(), g.tensors.end(), [&](const UnitTensor& u) {
    return u.role == UnitTensor::kConsumer && require_tensor(model, u.name).dim() == 2;
  });
}

}  // namespace

std::vector<std::pair<std::string, double>> rebalance_scales(torch::jit::Module& model) {
  std::vector<std::pair<std::string, double>> applied;
  std::vector<std::string> taps;
  auto graph = taps_graph(model);  // rescaling weights leaves the graph as it is
  tap_value(*graph, "", &taps);
  for (const std::string& tap : taps) {
    if (tap == "logits") continue;
    TapProducer p;
    try {
      p = find_tap_producer(model, *graph, tap);
    } catch (const InputError&) {
      continue;  // made by several layers, or not followable: a thief would leave it too
    }
    if (!p.group.unscalable.empty() || !read_by_dense_layer(model, p.group)) continue;
    const double c = fresh_size_factor(model, p);
    if (!(c > 0)) continue;
    Factors f;
    scale_group(f, p.group, c);
    apply_factors(model, f);
    applied.emplace_back(p.layer, c);
  }
  return applied;
}

}  // namespace ds
