// White-box key generation: payload bits, carriers, projection, triggers, profile.
#include "watermark/whitebox_key.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "core/errors.h"
#include "core/runtime.h"
#include "core/sha256.h"
#include "model/zoo.h"
#include "watermark/ecc.h"

namespace ds {

WhiteboxKeySpec parse_whitebox_key_spec(ConfigObject obj) {
  WhiteboxKeySpec s;
  s.layer = obj.get_string("layer", s.layer);
  s.carriers = obj.get_int_list("carriers", s.carriers);
  s.carrier_count = obj.get_positive_int("carrier_count", s.carrier_count);
  if (obj.has("carriers") && obj.has("carrier_count")) {
    obj.fail("carrier_count", "cannot be combined with an explicit 'carriers' list");
  }
  if (obj.has("carriers") && s.carriers.empty()) obj.fail("carriers", "needs at least one class");
  std::vector<int64_t> sorted = s.carriers;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    obj.fail("carriers", "lists a class twice");
  }
  s.bits = obj.get_positive_int("bits", s.bits);
  if (s.bits < 2) obj.fail("bits", "must be at least 2");
  s.message = obj.get_string("message", s.message);
  s.payload_seed = obj.get_int("payload_seed", s.payload_seed);
  if (s.message.empty() && s.payload_seed < 0) {
    obj.fail("message", "or 'payload_seed' is required: the payload comes from one of them");
  }
  if (!s.message.empty() && s.payload_seed >= 0) {
    obj.fail("payload_seed", "cannot be combined with 'message'");
  }
  s.trigger_fraction = obj.get_fraction("trigger_fraction", s.trigger_fraction, false);
  s.ecc = obj.get_choice("ecc", s.ecc, {"none", "bch"});
  s.ecc_t = obj.get_positive_int("ecc_t", s.ecc_t);
  if (s.ecc == "bch") {
    try {
      ecc_data_bits(s.bits, s.ecc_t);
    } catch (const InputError& e) {
      obj.fail("ecc_t", std::string("does not fit: ") + e.what());
    }
  }
  s.profile_count = obj.get_int("profile_count", s.profile_count);
  if (s.profile_count < 0 || s.profile_count == 1)
    obj.fail("profile_count", "must be 0 or at least 2");
  obj.finish();
  return s;
}

namespace {
void reject_degenerate(const torch::Tensor& bits, const std::string& source) {
  int64_t ones = bits.sum().item<int64_t>();
  if (ones == 0 || ones == bits.numel()) {
    throw InputError(source + ": the payload bits are all equal; choose another message or seed");
  }
}
}  // namespace

torch::Tensor message_bits(const std::string& message, int64_t n) {
  std::vector<int64_t> bits;
  for (uint32_t counter = 0; int64_t(bits.size()) < n; ++counter) {
    Sha256 h;
    h.update(message);
    uint8_t c[4] = {uint8_t(counter >> 24), uint8_t(counter >> 16), uint8_t(counter >> 8),
                    uint8_t(counter)};
    h.update(c, 4);
    for (unsigned char byte : h.digest()) {
      for (int b = 7; b >= 0 && int64_t(bits.size()) < n; --b) bits.push_back((byte >> b) & 1);
    }
  }
  torch::Tensor t = torch::tensor(bits, torch::kInt64);
  reject_degenerate(t, "message");
  return t;
}

torch::Tensor seeded_bits(uint64_t seed, int64_t n) {
  std::mt19937_64 rng(seed);
  std::vector<int64_t> bits(static_cast<size_t>(n));
  for (auto& b : bits) b = int64_t(rng() >> 63);
  torch::Tensor t = torch::tensor(bits, torch::kInt64);
  reject_degenerate(t, "payload_seed");
  return t;
}

namespace {

// The `count` classes farthest from the decision boundary: the largest mean logit margin (true
// logit minus the largest other) on up to 10,000 samples of `data`. Moving such a class's
// features to carry bits leaves the most room before a sample changes class.
std::vector<int64_t> safest_classes(torch::jit::Module& model, const Dataset& data, int64_t count) {
  Dataset sample = subset(data, std::min(1.0, 10000.0 / double(data.size())), 23);
  c10::InferenceMode guard;
  model.eval();
  torch::Tensor margin = torch::zeros({data.num_classes}, torch::kFloat64);
  torch::Tensor total = torch::zeros({data.num_classes}, torch::kFloat64);
  for (int64_t s = 0; s < sample.size(); s += 1000) {
    int64_t len = std::min<int64_t>(1000, sample.size() - s);
    auto y = sample.labels.narrow(0, s, len);
    auto logits = model.forward({sample.images.narrow(0, s, len)}).toTensor().to(torch::kFloat64);
    auto own = logits.gather(1, y.unsqueeze(1)).squeeze(1);
    auto others = std::get<0>(logits.scatter(1, y.unsqueeze(1), -1e300).max(1));
    margin.index_add_(0, y, own - others);
    total.index_add_(0, y, torch::ones({len}, torch::kFloat64));
  }
  torch::Tensor mean = margin / total.clamp_min(1);
  std::vector<int64_t> order(size_t(data.num_classes));
  for (int64_t c = 0; c < data.num_classes; ++c) order[size_t(c)] = c;
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return mean[a].item<double>() > mean[b].item<double>();
  });
  order.resize(size_t(std::min(count, data.num_classes)));
  return order;
}

std::string default_layer(torch::jit::Module& model, const std::vector<int64_t>& input_shape) {
  std::string last;
  for (const auto& t : list_taps(model, input_shape)) {
    if (t.name != "logits") last = t.name;
  }
  return last;
}

}  // namespace

namespace {

// The key's carriers: given, or the classes farthest from the decision boundary.
std::vector<int64_t> choose_carriers(const WhiteboxKeySpec& spec, torch::jit::Module& model,
                                     const Dataset& train) {
  std::vector<int64_t> carriers = spec.carriers;
  if (carriers.empty()) carriers = safest_classes(model, train, spec.carrier_count);
  for (int64_t c : carriers) {
    if (c < 0 || c >= train.num_classes) {
      throw InputError("carriers: class " + std::to_string(c) + " is not one of the " +
                       std::to_string(train.num_classes) + " classes");
    }
  }
  return carriers;
}

// The payload bits, each carrier's row a BCH codeword of the message bits with ecc "bch".
void set_payload(const WhiteboxKeySpec& spec, WhiteboxKey& k) {
  int64_t t = int64_t(k.carriers.size()), n = spec.bits;
  // With error correction the message fills the data bits and the code fills the rest.
  int64_t data_bits = spec.ecc == "bch" ? ecc_data_bits(n, spec.ecc_t) : n;
  torch::Tensor bits = spec.message.empty()
                           ? seeded_bits(uint64_t(spec.payload_seed), t * data_bits)
                           : message_bits(spec.message, t * data_bits);
  if (spec.ecc == "bch") {
    k.ecc_m = ecc_field_size(n);
    k.ecc_t = spec.ecc_t;
    k.payload = bits.reshape({t, data_bits});
    k.bits = ecc_encode(k.payload, k.ecc_m, k.ecc_t);
  } else {
    k.bits = bits.reshape({t, n});
  }
}

bool is_carrier(const WhiteboxKey& k, int64_t label) {
  return std::find(k.carriers.begin(), k.carriers.end(), label) != k.carriers.end();
}

// A seeded share of the carriers' training samples as triggers; returns how many.
int64_t choose_triggers(const WhiteboxKeySpec& spec, const Dataset& train, uint64_t key_seed,
                        WhiteboxKey& k) {
  std::vector<int64_t> pool;
  auto labels = train.labels.accessor<int64_t, 1>();
  for (int64_t i = 0; i < train.size(); ++i) {
    if (is_carrier(k, labels[i])) pool.push_back(i);
  }
  if (pool.empty()) throw InputError("training data has no samples of the carrier classes");
  int64_t want =
      std::max<int64_t>(int64_t(k.carriers.size()),
                        int64_t(std::llround(spec.trigger_fraction * double(train.size()))));
  want = std::min<int64_t>(want, int64_t(pool.size()));
  auto perm = seeded_permutation(int64_t(pool.size()), mix_seed(key_seed, 2));
  std::vector<int64_t> chosen;
  for (int64_t i = 0; i < want; ++i) chosen.push_back(pool[size_t(perm[size_t(i)])]);
  std::sort(chosen.begin(), chosen.end());
  auto idx = torch::tensor(chosen, torch::kInt64);
  k.triggers = train.images.index_select(0, idx).contiguous();
  k.trigger_labels = train.labels.index_select(0, idx).contiguous();
  for (int64_t c : k.carriers) {
    if (!k.trigger_labels.eq(c).any().item<bool>()) {
      throw InputError("trigger sample holds no sample of carrier class " + std::to_string(c) +
                       "; raise trigger_fraction");
    }
  }
  return want;
}

// Profile inputs: a seeded sample of the classes that carry no bits. The carriers' own
// activations are where the watermark lives: matching units on them would let the search
// rebuild the marked model's carrier means from any model with enough similar units (on a
// small test problem, every unrelated model then "verified" with BER 0).
void choose_profile_inputs(const WhiteboxKeySpec& spec, const Dataset& train, uint64_t key_seed,
                           WhiteboxKey& k) {
  auto labels = train.labels.accessor<int64_t, 1>();
  auto order = seeded_permutation(train.size(), mix_seed(key_seed, 3));
  std::vector<int64_t> picked;
  for (int64_t i : order) {
    if (int64_t(picked.size()) == spec.profile_count) break;
    if (!is_carrier(k, labels[i])) picked.push_back(i);
  }
  if (picked.size() < 2) {
    throw InputError(
        "too few samples outside the carrier classes for the profile inputs "
        "(set profile_count to 0 to go without realignment)");
  }
  std::sort(picked.begin(), picked.end());
  k.profile_inputs =
      train.images.index_select(0, torch::tensor(picked, torch::kInt64)).contiguous();
}

}  // namespace

WhiteboxKey make_whitebox_key(const WhiteboxKeySpec& spec, torch::jit::Module& model,
                              const std::string& model_path,
                              const std::vector<int64_t>& input_shape, const Dataset& train,
                              uint64_t key_seed, Json& meta) {
  WhiteboxKey k;
  k.layer = spec.layer.empty() ? default_layer(model, input_shape) : spec.layer;
  if (k.layer.empty()) fail_input(model_path, "model has no hidden tap to mark");
  {
    c10::InferenceMode guard;
    model.eval();
    std::vector<int64_t> shape = {1};
    shape.insert(shape.end(), input_shape.begin(), input_shape.end());
    k.layer_width = layer_activations(model, torch::zeros(shape), k.layer, model_path).size(1);
  }
  k.carriers = choose_carriers(spec, model, train);
  set_payload(spec, k);
  // The key's own generators: changing any training seed never changes the key.
  auto gen = at::detail::createCPUGenerator(mix_seed(key_seed, 1));
  k.projection = torch::randn({k.layer_width, spec.bits}, gen, torch::kFloat32);
  int64_t triggers = choose_triggers(spec, train, key_seed, k);
  if (spec.profile_count > 0) {
    choose_profile_inputs(spec, train, key_seed, k);
    refresh_profile(k, model, model_path);
  }
  meta["whitebox"] =
      Json{{"carrier_selection", spec.carriers.empty() ? "largest logit margin" : "given"},
           {"payload_source", spec.message.empty() ? "seed" : "message"},
           {"trigger_fraction", spec.trigger_fraction},
           {"trigger_count", triggers}};
  if (!spec.message.empty()) meta["whitebox"]["message"] = spec.message;
  if (spec.payload_seed >= 0) meta["whitebox"]["payload_seed"] = spec.payload_seed;
  return k;
}

void refresh_profile(WhiteboxKey& key, torch::jit::Module& model, const std::string& model_path) {
  c10::InferenceMode guard;
  bool was_training = model.is_training();
  model.eval();
  torch::Tensor acts = layer_activations(model, key.profile_inputs, key.layer, model_path);
  model.train(was_training);
  check_tap_width(model_path, key.layer, acts.size(1), key.layer_width);
  key.profile = acts.contiguous().clone();
}

}  // namespace ds
