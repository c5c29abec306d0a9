// Weight-space attacks. Every function copies the model first and edits the copy without
// recording gradients.
#include "attacks.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "distributed.h"
#include "errors.h"
#include "harden.h"
#include "model_io.h"
#include "runtime.h"

namespace ds {
namespace {

torch::Tensor param(const torch::jit::Module& m, const std::string& name) {
  for (const auto& p : m.named_parameters()) {
    if (p.name == name) return p.value;
  }
  throw InputError("model has no parameter '" + name + "'");
}

bool has_param(const torch::jit::Module& m, const std::string& name) {
  for (const auto& p : m.named_parameters()) {
    if (p.name == name) return true;
  }
  return false;
}

}  // namespace

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
      torch::Tensor w = param(out, n);
      int64_t units = w.size(0);
      int64_t drop = int64_t(std::floor(rate * double(units)));
      if (drop == 0) continue;
      torch::Tensor norms = w.reshape({units, -1}).norm(2, 1);
      torch::Tensor idx = std::get<1>(norms.sort()).narrow(0, 0, drop);
      w.index_fill_(0, idx, 0.0);
      std::string bias = n.substr(0, n.size() - 7) + ".bias";
      if (has_param(out, bias)) param(out, bias).index_fill_(0, idx, 0.0);
    }
    return out;
  }
  if (global) {
    std::vector<torch::Tensor> mags;
    for (const auto& n : names) mags.push_back(param(out, n).abs().flatten());
    torch::Tensor all = torch::cat(mags);
    int64_t k = int64_t(std::floor(rate * double(all.numel())));
    if (k == 0) return out;
    // Ties at the threshold are broken by position so exactly k weights are removed.
    torch::Tensor order = std::get<1>(all.sort(/*stable=*/true, 0, false));
    torch::Tensor mask = torch::ones_like(all);
    mask.index_fill_(0, order.narrow(0, 0, k), 0.0);
    int64_t offset = 0;
    for (const auto& n : names) {
      torch::Tensor w = param(out, n);
      w.mul_(mask.narrow(0, offset, w.numel()).view_as(w));
      offset += w.numel();
    }
  } else {
    for (const auto& n : names) {
      torch::Tensor w = param(out, n);
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
    torch::Tensor w = param(out, n);
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
    torch::Tensor w = param(out, n);
    double sd = w.numel() > 1 ? w.std().item<double>() : 0.0;
    w.add_(torch::randn(w.sizes(), gen, w.scalar_type()) * (scale * sd));
  }
  return out;
}

std::string next_dense_layer(const torch::jit::Module& model, const std::string& layer) {
  if (layer.size() < 3 || layer.compare(0, 2, "fc") != 0) {
    throw InputError("function-preserving transforms need a dense layer named fcK, got '" +
                     layer + "'");
  }
  int k = 0;
  try {
    k = std::stoi(layer.substr(2));
  } catch (const std::exception&) {
    throw InputError("function-preserving transforms need a dense layer named fcK, got '" +
                     layer + "'");
  }
  std::string next = "fc" + std::to_string(k + 1);
  if (!has_param(model, layer + ".weight") || !has_param(model, next + ".weight")) {
    throw InputError("model has no dense pair " + layer + " -> " + next);
  }
  return next;
}

namespace {

// A dense layer's units: their incoming weights and biases, and the next layer's weights on them.
struct DenseUnits {
  torch::Tensor in_weight, in_bias, out_weight;
};

DenseUnits dense_units(const torch::jit::Module& model, const std::string& layer) {
  std::string next = next_dense_layer(model, layer);
  return DenseUnits{param(model, layer + ".weight"), param(model, layer + ".bias"),
                    param(model, next + ".weight")};
}

}  // namespace

torch::jit::Module permute_units(const torch::jit::Module& model, const std::string& layer,
                                 uint64_t seed) {
  torch::jit::Module out = clone_model(model);
  DenseUnits d = dense_units(out, layer);
  torch::NoGradGuard no_grad;
  auto gen = at::detail::createCPUGenerator(mix_seed(seed, 41));
  torch::Tensor perm = torch::randperm(d.in_weight.size(0), gen, torch::kInt64);
  d.in_weight.copy_(d.in_weight.index_select(0, perm));
  d.in_bias.copy_(d.in_bias.index_select(0, perm));
  d.out_weight.copy_(d.out_weight.index_select(1, perm));
  return out;
}

torch::jit::Module scale_units(const torch::jit::Module& model, const std::string& layer,
                               double low, double high, uint64_t seed) {
  if (!(low > 0 && high >= low)) throw InputError("scale range must satisfy 0 < low <= high");
  torch::jit::Module out = clone_model(model);
  DenseUnits d = dense_units(out, layer);
  torch::NoGradGuard no_grad;
  auto gen = at::detail::createCPUGenerator(mix_seed(seed, 43));
  torch::Tensor c =
      torch::rand({d.in_weight.size(0)}, gen, torch::kFloat32) * (high - low) + low;
  d.in_weight.mul_(c.unsqueeze(1));
  d.in_bias.mul_(c);
  d.out_weight.div_(c.unsqueeze(0));
  return out;
}

}  // namespace ds

namespace ds {

std::string last_dense_layer(const torch::jit::Module& model) {
  std::string last;
  for (const auto& n : attackable_weights(model)) {
    if (param(model, n).dim() == 2) last = n.substr(0, n.size() - 7);
  }
  if (last.empty()) throw InputError("model has no dense layer");
  return last;
}

torch::jit::Module add_dummy_units(const torch::jit::Module& model, Json& info,
                                   const std::string& layer, int64_t units, bool shuffle,
                                   uint64_t seed) {
  if (units < 1) throw InputError("dummy units must be >= 1");
  if (!info.contains("arch") || !info.contains("normalization")) {
    throw InputError("dummy neurons need a zoo model (its description records the architecture)");
  }
  std::string next = next_dense_layer(model, layer);
  ArchSpec arch = parse_arch_spec(ConfigObject(info["arch"], "model", "arch"));
  size_t index = size_t(std::stoi(layer.substr(2)) - 1);
  if (arch.arch == "wrn" || index >= arch.hidden.size()) {
    throw InputError("layer " + layer + " is not a hidden dense layer of this architecture");
  }
  arch.hidden[index] += units;
  InputSpec input{info["input_shape"].get<std::vector<int64_t>>(), info["num_classes"].get<int64_t>(),
                  info["normalization"]["mean"].get<std::vector<double>>(),
                  info["normalization"]["std"].get<std::vector<double>>()};
  // The fresh model's initial weights are the dummies' incoming weights: they look like any
  // other unit's.
  torch::jit::Module out = build_model(arch, input, mix_seed(seed, 47));
  torch::NoGradGuard no_grad;
  std::map<std::string, torch::Tensor> old;
  for (const auto& p : model.named_parameters()) old[p.name] = p.value;
  for (const auto& b : model.named_buffers()) old[b.name] = b.value;
  auto copy_into = [&](const std::string& name, torch::Tensor dst) {
    auto it = old.find(name);
    if (it == old.end()) throw InputError("model has no tensor '" + name + "' of its architecture");
    torch::Tensor src = it->second;
    if (src.dim() != dst.dim()) throw InputError("tensor '" + name + "' has an unexpected shape");
    torch::Tensor view = dst;
    for (int64_t d = 0; d < src.dim(); ++d) {
      if (src.size(d) > dst.size(d)) throw InputError("tensor '" + name + "' is wider than expected");
      view = view.narrow(d, 0, src.size(d));
    }
    view.copy_(src);
    if (name == next + ".weight") dst.narrow(1, src.size(1), dst.size(1) - src.size(1)).zero_();
  };
  for (const auto& p : out.named_parameters()) copy_into(p.name, p.value);
  for (const auto& b : out.named_buffers()) copy_into(b.name, b.value);
  info["arch"] = arch_spec_to_json(arch);
  out.eval();
  return shuffle ? permute_units(out, layer, seed) : out;
}

namespace {

void reinit_uniform(torch::Tensor w, torch::Tensor b, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  double bound = 1.0 / std::sqrt(double(w.size(1)));
  w.copy_(torch::rand(w.sizes(), gen, w.scalar_type()) * (2 * bound) - bound);
  if (b.defined()) b.copy_(torch::rand(b.sizes(), gen, b.scalar_type()) * (2 * bound) - bound);
}

// Trains `model` in place with `step` on the given parameters; the rest stay frozen.
std::vector<EpochStats> train_parameters(torch::jit::Module& model,
                                         const std::vector<torch::Tensor>& params,
                                         const OptimizerSpec& opt, int64_t epochs,
                                         int64_t batch_size, const Dataset& data, uint64_t seed,
                                         const StepFn& step, const std::string& what) {
  for (auto p : model.parameters()) p.requires_grad_(false);
  for (auto p : params) p.requires_grad_(true);
  auto optimizer = make_optimizer(opt, params);
  seed_training_generator(mix_seed(seed, 3));  // dropout
  std::vector<EpochStats> stats;
  for (int64_t e = 0; e < epochs; ++e) {
    set_lr(*optimizer, scheduled_lr(opt, e, epochs));
    std::string label = what + " " + std::to_string(e + 1) + "/" + std::to_string(epochs);
    EpochStats s = run_epoch(model, {optimizer.get()}, data, batch_size,
                             mix_seed(seed, 200 + uint64_t(e)), step, label);
    s.epoch = e + 1;
    stats.push_back(s);
  }
  for (auto p : model.parameters()) p.requires_grad_(true);
  model.eval();
  return stats;
}

}  // namespace

AttackTraining finetune_model(const torch::jit::Module& model, const FinetuneSpec& spec,
                              const Dataset& attacker_data, uint64_t seed) {
  if (attacker_data.size() == 0) throw InputError("fine-tuning needs attacker data");
  AttackTraining r{clone_model(model), {}};
  if (spec.rebalance) {
    for (const auto& [layer, factor] : rebalance_scales(r.model)) {
      spdlog::info("rebalanced {} by {:.4g}", layer, factor);
    }
  }
  std::string last = last_dense_layer(r.model);
  torch::Tensor w = param(r.model, last + ".weight");
  torch::Tensor b = has_param(r.model, last + ".bias") ? param(r.model, last + ".bias")
                                                        : torch::Tensor();
  if (spec.mode == "rtll" || spec.mode == "rtal") {
    torch::NoGradGuard no_grad;
    reinit_uniform(w, b, mix_seed(seed, 53));
  }
  std::vector<torch::Tensor> params;
  if (spec.mode == "ftll" || spec.mode == "rtll") {
    params.push_back(w);
    if (b.defined()) params.push_back(b);
  } else if (spec.mode == "ftal" || spec.mode == "rtal") {
    for (auto p : r.model.parameters()) params.push_back(p);
  } else {
    throw InputError("unknown fine-tuning mode '" + spec.mode + "'");
  }
  r.epochs = train_parameters(r.model, params, spec.optimizer, spec.epochs, spec.batch_size,
                              attacker_data, seed, cross_entropy_step(r.model), spec.mode);
  return r;
}

AttackTraining distill_model(torch::jit::Module& teacher, const DistillSpec& spec,
                             const Dataset& attacker_data, uint64_t seed, InputSpec* student_input) {
  if (attacker_data.size() == 0) throw InputError("distillation needs attacker data");
  if (!(spec.temperature > 0)) throw InputError("distillation temperature must be positive");
  ChannelStats stats = channel_stats(attacker_data);
  InputSpec input{attacker_data.sample_shape(), attacker_data.num_classes, stats.mean, stats.std};
  if (student_input) *student_input = input;
  AttackTraining r{build_model(spec.student, input, mix_seed(seed, 59)), {}};
  teacher.eval();
  const double t = spec.temperature;
  torch::jit::Module& student = r.model;
  StepFn step = [&teacher, &student, t](const torch::Tensor& x, const torch::Tensor&,
                                         const BatchShard& shard) {
    torch::Tensor soft;
    {
      torch::NoGradGuard no_grad;
      soft = torch::softmax(teacher.forward({x}).toTensor() / t, 1);
    }
    torch::Tensor logits = student.forward({x}).toTensor();
    torch::Tensor loss =
        torch::kl_div(torch::log_softmax(logits / t, 1), soft, at::Reduction::Sum) *
        (t * t / double(shard.global_size));
    return StepOutput{loss, logits};
  };
  std::vector<torch::Tensor> params;
  for (auto p : r.model.parameters()) params.push_back(p);
  r.epochs = train_parameters(r.model, params, spec.optimizer, spec.epochs, spec.batch_size,
                              attacker_data, seed, step, "distill");
  return r;
}

}  // namespace ds
