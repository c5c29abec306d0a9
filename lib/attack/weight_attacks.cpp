// Weight-space attacks. Every function copies the model first and edits the copy without
// recording gradients.
#include "attack/weight_attacks.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "core/errors.h"
#include "core/runtime.h"
#include "model/model_io.h"

namespace ds {

std::vector<std::string> attackable_weights(const torch::jit::Module& model) {
  std::vector<std::string> out;
  for (const auto& p : model.named_parameters()) {
    const std::string& n = p.name;
    if (p.value.dim() >= 2 && n.size() >= 7 && n.compare(n.size() - 7, 7, ".weight") == 0) {
      out.push_back(n);
    }
  }
  return out;
}

torch::jit::Module prune_magnitude(const torch::jit::Module& model, double rate, bool global,
                                   bool structured) {
  if (!(rate >= 0 && rate <= 1)) throw InputError("prune rate must be in [0, 1]");
  torch::jit::Module out = clone_model(model);
  torch::NoGradGuard no_grad;
  std::vector<std::string> names = attackable_weights(out);
  if (structured) {
    for (const auto& n : names) {
      torch::Tensor w = require_tensor(out, n);
      int64_t units = w.size(0);
      int64_t drop = int64_t(std::floor(rate * double(units)));
      if (drop == 0) continue;
      torch::Tensor norms = w.reshape({units, -1}).norm(2, 1);
      torch::Tensor idx = std::get<1>(norms.sort()).narrow(0, 0, drop);
      w.index_fill_(0, idx, 0.0);
      std::string bias = n.substr(0, n.size() - 7) + ".bias";
      if (find_tensor(out, bias).defined()) find_tensor(out, bias).index_fill_(0, idx, 0.0);
    }
    return out;
  }
  if (global) {
    std::vector<torch::Tensor> mags;
    for (const auto& n : names) mags.push_back(require_tensor(out, n).abs().flatten());
    torch::Tensor all = torch::cat(mags);
    int64_t k = int64_t(std::floor(rate * double(all.numel())));
    if (k == 0) return out;
    // Ties at the threshold are broken by position so exactly k weights are removed.
    torch::Tensor order = std::get<1>(all.sort(/*stable=*/true, 0, false));
    torch::Tensor mask = torch::ones_like(all);
    mask.index_fill_(0, order.narrow(0, 0, k), 0.0);
    int64_t offset = 0;
    for (const auto& n : names) {
      torch::Tensor w = require_tensor(out, n);
      w.mul_(mask.narrow(0, offset, w.numel()).view_as(w));
      offset += w.numel();
    }
  } else {
    for (const auto& n : names) {
      torch::Tensor w = require_tensor(out, n);
      int64_t k = int64_t(std::floor(rate * double(w.numel())));
      if (k == 0) continue;
      torch::Tensor order = std::get<1>(w.abs().flatten().sort(true, 0, false));
      w.view({-1}).index_fill_(0, order.narrow(0, 0, k), 0.0);
    }
  }
  return out;
}

torch::jit::Module quantize_weights(const torch::jit::Module& model, int bits, bool per_channel) {
  if (bits < 1 || bits > 16) throw InputError("quantisation bits must be in 1..16");
  torch::jit::Module out = clone_model(model);
  torch::NoGradGuard no_grad;
  const double levels = std::pow(2.0, bits) - 1.0;
  for (const auto& n : attackable_weights(out)) {
    torch::Tensor w = require_tensor(out, n);
    torch::Tensor rows = per_channel ? w.reshape({w.size(0), -1}) : w.reshape({1, -1});
    torch::Tensor lo = std::get<0>(rows.min(1, true)), hi = std::get<0>(rows.max(1, true));
    torch::Tensor step = ((hi - lo) / levels).clamp_min(1e-12);
    torch::Tensor q = ((rows - lo) / step).round() * step + lo;
    w.copy_(q.view_as(w));
  }
  return out;
}

torch::jit::Module add_weight_noise(const torch::jit::Module& model, double scale, uint64_t seed) {
  if (!(scale >= 0)) throw InputError("noise scale must be >= 0");
  torch::jit::Module out = clone_model(model);
  torch::NoGradGuard no_grad;
  auto gen = at::detail::createCPUGenerator(mix_seed(seed, 31));
  for (const auto& n : attackable_weights(out)) {
    torch::Tensor w = require_tensor(out, n);
    double sd = w.numel() > 1 ? w.std().item<double>() : 0.0;
    w.add_(torch::randn(w.sizes(), gen, w.scalar_type()) * (scale * sd));
  }
  return out;
}

namespace {

struct PruneAttack : Attack {
  double rate = 0.5;
  bool global = true, structured = false;
  AttackResult apply(const AttackInputs& in) const override {
    return {prune_magnitude(in.model.module, rate, global, structured), in.model.info, Json::object()};
  }
};

struct QuantizeAttack : Attack {
  int64_t bits = 8;
  bool per_channel = false;
  AttackResult apply(const AttackInputs& in) const override {
    return {quantize_weights(in.model.module, int(bits), per_channel), in.model.info,
            Json::object()};
  }
};

struct NoiseAttack : Attack {
  double scale = 0.1;
  AttackResult apply(const AttackInputs& in) const override {
    return {add_weight_noise(in.model.module, scale, in.spec.seed), in.model.info, Json::object()};
  }
};

}  // namespace

std::unique_ptr<Attack> parse_prune_attack(ConfigObject& root, const Json&, const AttackSpec&) {
  auto a = std::make_unique<PruneAttack>();
  a->rate = root.get_fraction("rate", a->rate, true);
  a->global = root.get_bool("global", a->global);
  a->structured = root.get_bool("structured", a->structured);
  if (a->global && a->structured) root.fail("structured", "pruning is per layer: set global to false");
  return a;
}

std::unique_ptr<Attack> parse_quantize_attack(ConfigObject& root, const Json&, const AttackSpec&) {
  auto a = std::make_unique<QuantizeAttack>();
  a->bits = root.get_int("bits", a->bits);
  if (a->bits < 1 || a->bits > 16) root.fail("bits", "must be in 1..16");
  a->per_channel = root.get_bool("per_channel", a->per_channel);
  return a;
}

std::unique_ptr<Attack> parse_noise_attack(ConfigObject& root, const Json&, const AttackSpec&) {
  auto a = std::make_unique<NoiseAttack>();
  a->scale = root.get_number("scale", a->scale);
  if (a->scale < 0) root.fail("scale", "must be >= 0");
  return a;
}

}  // namespace ds
