// Function-preserving transforms of a dense hidden layer and their registry entries.
#include "attack/unit_attacks.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <map>

#include "core/errors.h"
#include "core/runtime.h"
#include "model/model_io.h"
#include "model/topology.h"
#include "model/zoo.h"

namespace ds {
namespace {

// A dense layer's units: their incoming weights and biases, and the next layer's weights on them.
struct DenseUnits {
  torch::Tensor in_weight, in_bias, out_weight;
};

DenseUnits dense_units(const torch::jit::Module& model, const std::string& layer) {
  std::string next = next_dense_layer(model, layer);
  return DenseUnits{require_tensor(model, layer + ".weight"),
                    require_tensor(model, layer + ".bias"),
                    require_tensor(model, next + ".weight")};
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
  torch::Tensor c = torch::rand({d.in_weight.size(0)}, gen, torch::kFloat32) * (high - low) + low;
  d.in_weight.mul_(c.unsqueeze(1));
  d.in_bias.mul_(c);
  d.out_weight.div_(c.unsqueeze(0));
  return out;
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
  size_t index = size_t(dense_layer_index(layer) - 1);
  if (arch.arch == "wrn" || index >= arch.hidden.size()) {
    throw InputError("layer " + layer + " is not a hidden dense layer of this architecture");
  }
  arch.hidden[index] += units;
  InputSpec input{info["input_shape"].get<std::vector<int64_t>>(),
                  info["num_classes"].get<int64_t>(),
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
      if (src.size(d) > dst.size(d))
        throw InputError("tensor '" + name + "' is wider than expected");
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

// The settings every unit attack shares: which layer (empty: the last hidden dense layer).
struct UnitAttack : Attack {
  std::string layer;
  double low = 0.5, high = 2.0;
  std::string target(const LoadedModel& model) const {
    return layer.empty() ? last_hidden_dense_layer(model.module) : layer;
  }
};

struct PermuteAttack : UnitAttack {
  AttackResult apply(const AttackInputs& in) const override {
    std::string l = target(in.model);
    return {permute_units(in.model.module, l, in.spec.seed), in.model.info, Json{{"layer", l}}};
  }
};

struct ScaleAttack : UnitAttack {
  AttackResult apply(const AttackInputs& in) const override {
    std::string l = target(in.model);
    return {scale_units(in.model.module, l, low, high, in.spec.seed), in.model.info,
            Json{{"layer", l}}};
  }
};

struct DummyAttack : UnitAttack {
  int64_t units = 64;
  bool shuffle = true;
  AttackResult apply(const AttackInputs& in) const override {
    std::string l = target(in.model);
    Json info = in.model.info;
    torch::jit::Module m = add_dummy_units(in.model.module, info, l, units, shuffle, in.spec.seed);
    return {m, info, Json{{"layer", l}}};
  }
};

// Every function-preserving transform at once: dummy units (a fraction of the layer's width),
// a permutation, then positive scales.
struct ObfuscateAttack : UnitAttack {
  double dummy_fraction = 0.1;
  bool permute = true;
  AttackResult apply(const AttackInputs& in) const override {
    const uint64_t seed = in.spec.seed;
    std::string l = target(in.model);
    torch::Tensor w = find_tensor(in.model.module, l + ".weight");
    int64_t width = w.defined() ? w.size(0) : 0;
    int64_t units = int64_t(std::llround(dummy_fraction * double(width)));
    AttackResult r{in.model.module, in.model.info, Json::object()};
    if (units > 0) {
      r.model = add_dummy_units(r.model, r.info, l, units, permute, seed);
    } else if (permute) {
      r.model = permute_units(r.model, l, seed);
    }
    r.model = scale_units(r.model, l, low, high, mix_seed(seed, 5));
    r.details = Json{{"layer", l}, {"dummy_units", units}, {"permuted", permute}};
    return r;
  }
};

template <typename T>
std::unique_ptr<T> parse_unit_attack(ConfigObject& root) {
  auto a = std::make_unique<T>();
  a->layer = root.get_string("layer", "");
  return a;
}

void parse_scale_range(ConfigObject& root, UnitAttack& a) {
  a.low = root.get_number("low", a.low);
  a.high = root.get_number("high", a.high);
  if (!(a.low > 0 && a.high >= a.low)) root.fail("low", "and 'high' must satisfy 0 < low <= high");
}

}  // namespace

std::unique_ptr<Attack> parse_permute_attack(ConfigObject& root, const Json&, const AttackSpec&) {
  return parse_unit_attack<PermuteAttack>(root);
}

std::unique_ptr<Attack> parse_scale_attack(ConfigObject& root, const Json&, const AttackSpec&) {
  auto a = parse_unit_attack<ScaleAttack>(root);
  parse_scale_range(root, *a);
  return a;
}

std::unique_ptr<Attack> parse_dummy_attack(ConfigObject& root, const Json&, const AttackSpec&) {
  auto a = parse_unit_attack<DummyAttack>(root);
  a->units = root.get_positive_int("units", a->units);
  a->shuffle = root.get_bool("shuffle", a->shuffle);
  return a;
}

std::unique_ptr<Attack> parse_obfuscate_attack(ConfigObject& root, const Json&, const AttackSpec&) {
  auto a = parse_unit_attack<ObfuscateAttack>(root);
  a->dummy_fraction = root.get_fraction("dummy_fraction", a->dummy_fraction, true);
  a->permute = root.get_bool("permute", a->permute);
  parse_scale_range(root, *a);
  return a;
}

}  // namespace ds
