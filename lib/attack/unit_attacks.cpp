// Function-preserving transforms of a tap's units (permute, scale, widen; any model whose graph
// unit_graph.h can follow) and their registry entries.
#include "attack/unit_attacks.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <map>

#include "core/errors.h"
#include "core/runtime.h"
#include "model/model_io.h"
#include "model/unit_graph.h"
#include "model/zoo.h"

namespace ds {
namespace {

// Entries of a tensor along a unit dimension for units `index` (each `block` long).
torch::Tensor unit_entries(const torch::Tensor& index, int64_t block) {
  if (block == 1) return index;
  return (index.unsqueeze(1) * block + torch::arange(block, torch::kInt64)).flatten();
}

// `v` (one value per unit) shaped to broadcast along a tensor's unit dimension.
torch::Tensor along(const torch::Tensor& v, const UnitTensor& u, int64_t dims) {
  std::vector<int64_t> shape(size_t(dims), 1);
  shape[size_t(u.dim)] = -1;
  return (u.block == 1 ? v : v.repeat_interleave(u.block)).view(shape);
}

// Puts `t` in place of parameter or buffer `name` (it may change shape).
void replace_tensor(torch::jit::Module& model, const std::string& name, const torch::Tensor& t) {
  torch::jit::Module owner = model;
  std::string rest = name;
  for (auto dot = rest.find('.'); dot != std::string::npos; dot = rest.find('.')) {
    owner = owner.attr(rest.substr(0, dot)).toModule();
    rest = rest.substr(dot + 1);
  }
  const auto& type = owner.type();
  if (type->is_parameter(type->getAttributeSlot(rest))) {
    owner.register_parameter(rest, t, false);
  } else {
    owner.register_buffer(rest, t);
  }
}

// The dummies' entries of one tensor: weights drawn like the layer's own (same mean and
// spread), per-unit values copied from random real units, zeros where a layer reads them.
torch::Tensor dummy_entries(const torch::Tensor& t, const UnitTensor& u, int64_t width,
                            int64_t units, at::Generator& gen) {
  std::vector<int64_t> shape = t.sizes().vec();
  shape[size_t(u.dim)] = units * u.block;
  if (u.dim != 0) return torch::zeros(shape, t.options());
  if (t.dim() >= 2) {
    return torch::randn(shape, gen, t.options()) * t.std().item<double>() + t.mean().item<double>();
  }
  return t.index_select(0, torch::randint(width, {units}, gen, torch::kInt64));
}

// After widening a zoo layer, its architecture records the new width.
void record_width(Json& info, const std::string& tap, int64_t units) {
  if (!info.contains("arch") || !info["arch"].is_object()) return;
  Json& arch = info["arch"];
  const std::string kind = arch.value("arch", "");
  auto widen = [&](const char* field, const std::string& prefix) {
    if (tap.rfind(prefix, 0) != 0 || !arch.contains(field)) return;
    size_t k = size_t(std::atoi(tap.c_str() + prefix.size()));
    if (k >= 1 && k <= arch[field].size()) arch[field][k - 1] = arch[field][k - 1].get<int64_t>() + units;
  };
  if (kind == "mlp" || kind == "cnn") widen("hidden", "fc");
  if (kind == "cnn") widen("channels", "conv");
}

}  // namespace

torch::jit::Module permute_units(const torch::jit::Module& model, const std::string& layer,
                                 uint64_t seed) {
  torch::jit::Module out = clone_model(model);
  UnitGroup g = find_unit_group(out, layer);
  torch::NoGradGuard no_grad;
  auto gen = at::detail::createCPUGenerator(mix_seed(seed, 41));
  torch::Tensor perm = torch::randperm(g.width, gen, torch::kInt64);
  for (const UnitTensor& u : g.tensors) {
    torch::Tensor t = require_tensor(out, u.name);
    t.copy_(t.index_select(u.dim, unit_entries(perm, u.block)));
  }
  return out;
}

torch::jit::Module scale_units(const torch::jit::Module& model, const std::string& layer,
                               double low, double high, uint64_t seed) {
  if (!(low > 0 && high >= low)) throw InputError("scale range must satisfy 0 < low <= high");
  torch::jit::Module out = clone_model(model);
  UnitGroup g = find_unit_group(out, layer);
  if (!g.unscalable.empty()) {
    throw InputError("cannot scale the units of tap '" + layer + "': " + g.unscalable);
  }
  torch::NoGradGuard no_grad;
  auto gen = at::detail::createCPUGenerator(mix_seed(seed, 43));
  torch::Tensor c = torch::rand({g.width}, gen, torch::kFloat32) * (high - low) + low;
  for (const UnitTensor& u : g.tensors) {
    torch::Tensor t = require_tensor(out, u.name);
    if (u.role == UnitTensor::kScaled) t.mul_(along(c, u, t.dim()));
    if (u.role == UnitTensor::kConsumer) t.div_(along(c, u, t.dim()));
  }
  return out;
}

torch::jit::Module add_dummy_units(const torch::jit::Module& model, Json& info,
                                   const std::string& layer, int64_t units, bool shuffle,
                                   uint64_t seed) {
  if (units < 1) throw InputError("dummy units must be >= 1");
  torch::jit::Module out = clone_model(model);
  UnitGroup g = find_unit_group(out, layer);
  if (!g.has_consumer()) throw InputError("no layer reads the units of tap '" + layer + "'");
  torch::NoGradGuard no_grad;
  auto gen = at::detail::createCPUGenerator(mix_seed(seed, 47));
  for (const UnitTensor& u : g.tensors) {
    torch::Tensor t = require_tensor(out, u.name).detach();
    torch::Tensor wide = torch::cat({t, dummy_entries(t, u, g.width, units, gen)}, u.dim);
    replace_tensor(out, u.name, wide.contiguous());
  }
  record_width(info, layer, units);
  if (info.contains("taps") && info.contains("input_shape")) {
    Json taps = Json::array();
    for (const TapInfo& t : list_taps(out, info["input_shape"].get<std::vector<int64_t>>()))
      taps.push_back(Json{{"name", t.name}, {"shape", t.shape}, {"width", t.width}});
    info["taps"] = taps;
  }
  out.eval();
  return shuffle ? permute_units(out, layer, seed) : out;
}

namespace {

// The settings every unit attack shares: which layer (empty: the last hidden dense layer).
struct UnitAttack : Attack {
  std::string layer;
  double low = 0.5, high = 2.0;
  std::string target(const LoadedModel& model) const {
    return layer.empty() ? last_hidden_tap(model.module) : layer;
  }
  // The transform itself; apply names the model in any refusal and checks the result.
  virtual AttackResult transform(const AttackInputs& in) const = 0;
  AttackResult apply(const AttackInputs& in) const override {
    AttackResult r;
    try {
      r = transform(in);
    } catch (const InputError& e) {
      fail_input(in.model.path, e.what());
    }
    return checked(in, std::move(r));
  }
  // The graph walk may miss what a model does outside its recognised operations: the outputs
  // on a probe batch are the proof that the function is kept.
  AttackResult checked(const AttackInputs& in, AttackResult r) const {
    if (!in.model.info.contains("input_shape")) return r;
    std::vector<int64_t> shape = {32};
    for (int64_t d : in.model.input_shape()) shape.push_back(d);
    auto gen = at::detail::createCPUGenerator(mix_seed(in.spec.seed, 53));
    torch::Tensor probe = torch::rand(shape, gen, torch::kFloat32);
    c10::InferenceMode guard;
    torch::jit::Module before = in.model.module;  // shares the input: its mode is restored
    const bool was_training = before.is_training();
    before.eval();
    r.model.eval();
    torch::Tensor a = before.forward({probe}).toTensor(), b = r.model.forward({probe}).toTensor();
    before.train(was_training);
    const double moved = (a - b).abs().max().item<double>();
    if (!(moved <= 1e-4 * std::max(1.0, a.abs().max().item<double>()))) {
      fail_input(in.model.path, "transforming the units of tap '" + r.details.value("layer", "") +
                                    "' changed the outputs by " + std::to_string(moved) +
                                    " on a probe batch: the model does something there the "
                                    "transform does not follow");
    }
    return r;
  }
};

struct PermuteAttack : UnitAttack {
  AttackResult transform(const AttackInputs& in) const override {
    std::string l = target(in.model);
    return {permute_units(in.model.module, l, in.spec.seed), in.model.info, Json{{"layer", l}}};
  }
};

struct ScaleAttack : UnitAttack {
  AttackResult transform(const AttackInputs& in) const override {
    std::string l = target(in.model);
    return {scale_units(in.model.module, l, low, high, in.spec.seed), in.model.info,
            Json{{"layer", l}}};
  }
};

struct DummyAttack : UnitAttack {
  int64_t units = 64;
  bool shuffle = true;
  AttackResult transform(const AttackInputs& in) const override {
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
  AttackResult transform(const AttackInputs& in) const override {
    const uint64_t seed = in.spec.seed;
    std::string l = target(in.model);
    int64_t width = find_unit_group(in.model.module, l).width;
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
