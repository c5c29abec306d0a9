// White-box watermark: key generation, the DeepSigns embedding loss, and extraction.
#include "whitebox.h"

#include <optional>

#include "centre_terms.h"
#include "distributed.h"
#include "ecc.h"
#include "realign.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "errors.h"
#include "model_io.h"
#include "runtime.h"
#include "sha256.h"
#include "stats.h"
#include "zoo.h"

namespace ds {

// --- Key generation -------------------------------------------------------------------------

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
  if (s.profile_count < 0 || s.profile_count == 1) obj.fail("profile_count", "must be 0 or at least 2");
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

// The tap's activations, flattened per sample; InputError if the model lacks it.
torch::Tensor layer_activations(torch::jit::Module& model, const torch::Tensor& x,
                                const std::string& layer, const std::string& model_path) {
  auto taps = call_taps(model, x, model_path);
  if (!taps.contains(layer)) {
    std::string names;
    for (const auto& kv : taps) names += (names.empty() ? "" : ", ") + kv.key();
    fail_input(model_path, "model has no tap '" + layer + "' (it has: " + names + ")");
  }
  return taps.at(layer).flatten(1);
}

// The `count` classes farthest from the decision boundary: the largest mean logit margin (true
// logit minus the largest other) on up to 10,000 samples of `data`. Moving such a class's
// features to carry bits leaves the most room before a sample changes class.
std::vector<int64_t> safest_classes(torch::jit::Module& model, const Dataset& data,
                                    int64_t count) {
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
  std::vector<int64_t> carriers = spec.carriers;
  if (carriers.empty()) carriers = safest_classes(model, train, spec.carrier_count);
  for (int64_t c : carriers) {
    if (c < 0 || c >= train.num_classes) {
      throw InputError("carriers: class " + std::to_string(c) + " is not one of the " +
                       std::to_string(train.num_classes) + " classes");
    }
  }
  k.carriers = carriers;
  int64_t t = int64_t(carriers.size()), n = spec.bits;
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

  // The key's own generators: changing any training seed never changes the key.
  auto gen = at::detail::createCPUGenerator(mix_seed(key_seed, 1));
  k.projection = torch::randn({k.layer_width, n}, gen, torch::kFloat32);

  std::vector<int64_t> pool;
  auto labels = train.labels.accessor<int64_t, 1>();
  for (int64_t i = 0; i < train.size(); ++i) {
    if (std::find(k.carriers.begin(), k.carriers.end(), labels[i]) != k.carriers.end()) {
      pool.push_back(i);
    }
  }
  if (pool.empty()) throw InputError("training data has no samples of the carrier classes");
  int64_t want = std::max<int64_t>(
      int64_t(k.carriers.size()),
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

  if (spec.profile_count > 0) {
    // Profile inputs: a seeded sample of the classes that carry no bits. The carriers' own
    // activations are where the watermark lives: matching units on them would let the search
    // rebuild the marked model's carrier means from any model with enough similar units (on a
    // small test problem, every unrelated model then "verified" with BER 0).
    auto order = seeded_permutation(train.size(), mix_seed(key_seed, 3));
    std::vector<int64_t> picked;
    for (int64_t i : order) {
      if (int64_t(picked.size()) == spec.profile_count) break;
      if (std::find(k.carriers.begin(), k.carriers.end(), labels[i]) == k.carriers.end()) {
        picked.push_back(i);
      }
    }
    if (picked.size() < 2) {
      throw InputError("too few samples outside the carrier classes for the profile inputs "
                       "(set profile_count to 0 to go without realignment)");
    }
    std::sort(picked.begin(), picked.end());
    k.profile_inputs = train.images.index_select(0, torch::tensor(picked, torch::kInt64)).contiguous();
    refresh_profile(k, model, model_path);
  }

  meta["whitebox"] = Json{{"carrier_selection", spec.carriers.empty() ? "largest logit margin" : "given"},
                          {"payload_source", spec.message.empty() ? "seed" : "message"},
                          {"trigger_fraction", spec.trigger_fraction},
                          {"trigger_count", want}};
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
  if (acts.size(1) != key.layer_width) {
    fail_input(model_path, "tap '" + key.layer + "' has width " + std::to_string(acts.size(1)) +
                               ", the key expects " + std::to_string(key.layer_width));
  }
  key.profile = acts.contiguous().clone();
}

// --- Extraction -----------------------------------------------------------------------------

namespace {

// Mean activation per carrier class over the triggers: carriers x width. With an alignment,
// the suspect's layer is read and mapped into the key's unit order and scale first.
torch::Tensor carrier_means(torch::jit::Module& model, const WhiteboxKey& key,
                            const std::string& model_path, const Alignment* alignment) {
  torch::Tensor acts;
  {
    const int64_t batch = 1000;
    const std::string& layer = alignment ? alignment->layer : key.layer;
    std::vector<torch::Tensor> parts;
    for (int64_t s = 0; s < key.triggers.size(0); s += batch) {
      int64_t len = std::min(batch, key.triggers.size(0) - s);
      parts.push_back(
          layer_activations(model, key.triggers.narrow(0, s, len), layer, model_path));
    }
    acts = torch::cat(parts);
  }
  if (alignment) acts = realign(acts, *alignment);
  if (acts.size(1) != key.layer_width) {
    fail_input(model_path, "tap '" + key.layer + "' has width " + std::to_string(acts.size(1)) +
                               ", the key expects " + std::to_string(key.layer_width));
  }
  std::vector<torch::Tensor> means;
  for (int64_t c : key.carriers) means.push_back(acts.index({key.trigger_labels.eq(c)}).mean(0));
  return torch::stack(means);
}

// The verdict's p-value from the reading's two tests, `tests` tried in all (Bonferroni).
void set_p_value(WhiteboxExtraction& e, int tests) {
  e.log10_p_value = std::min(0.0, std::min(e.binomial_log10_p, e.correlation_log10_p) +
                                      std::log10(double(tests)));
  e.p_value = std::pow(10.0, e.log10_p_value);
}

}  // namespace

WhiteboxExtraction score_projections(const WhiteboxKey& key, const torch::Tensor& means) {
  WhiteboxExtraction e;
  e.projections = torch::matmul(means, key.projection);
  e.bits = e.projections.gt(0).to(torch::kInt64);
  e.total = key.total_bits();
  e.errors = e.bits.ne(key.bits).sum().item<int64_t>();
  e.ber = double(e.errors) / double(e.total);
  e.binomial_log10_p = log10_binomial_upper_tail(e.total, e.total - e.errors, 0.5);
  // sum_c,i s_ci mu_c . A_i = sum_i v_i . A_i with v_i = sum_c s_ci mu_c: under the null a sum
  // of independent N(0, |v_i|^2) terms (columns of A are independent; carriers share them).
  torch::Tensor signs = 2.0 * key.bits.to(torch::kFloat64) - 1.0;
  torch::Tensor mu = means.to(torch::kFloat64);
  const double signed_sum =
      (signs * torch::matmul(mu, key.projection.to(torch::kFloat64))).sum().item<double>();
  const double null_var = torch::matmul(signs.t(), mu).pow(2).sum().item<double>();
  e.correlation_z = null_var > 0 ? signed_sum / std::sqrt(null_var) : 0.0;
  e.correlation_log10_p = log10_normal_upper_tail(e.correlation_z);
  set_p_value(e, 2);
  return e;
}

namespace {

// True when the model has the key's layer at the key's width (fixed-order reading possible).
bool has_key_layer(torch::jit::Module& model, const WhiteboxKey& key, const std::string& path) {
  std::vector<int64_t> shape = {1};
  shape.insert(shape.end(), key.triggers.sizes().begin() + 1, key.triggers.sizes().end());
  auto taps = call_taps(model, torch::zeros(shape), path);
  return taps.contains(key.layer) && taps.at(key.layer).flatten(1).size(1) == key.layer_width;
}

}  // namespace

WhiteboxExtraction extract_whitebox(torch::jit::Module& model, const WhiteboxKey& key,
                                    const std::string& model_path, bool realign) {
  bool was_training = model.is_training();
  model.eval();
  WhiteboxExtraction e;
  if (!(realign && key.has_profile())) {
    c10::InferenceMode guard;
    e = score_projections(key, carrier_means(model, key, model_path, nullptr));
  } else {
    // Two readings: realigned, and (when the model has the key's layer at its width) the fixed
    // unit order. Reordered layers need the first; weights drifted by training are sometimes
    // read better by the second. Ownership rests on the better one, with all four tests
    // counted (Bonferroni), so that trying both cannot raise the false-claim probability.
    Alignment alignment = align_to_reference(model, key.profile_inputs, key.profile, model_path);
    c10::InferenceMode guard;
    WhiteboxExtraction aligned = score_projections(key, carrier_means(model, key, model_path, &alignment));
    std::optional<WhiteboxExtraction> fixed;
    if (has_key_layer(model, key, model_path)) {
      fixed = score_projections(key, carrier_means(model, key, model_path, nullptr));
    }
    bool use_fixed = fixed && fixed->log10_p_value < aligned.log10_p_value;
    e = use_fixed ? *fixed : aligned;
    e.alignment = alignment.to_json();
    e.alignment["layer_renamed"] = alignment.layer != key.layer;
    e.alignment["realigned"] = Json{{"ber", aligned.ber}, {"p_value", aligned.p_value}};
    if (fixed) {
      e.alignment["fixed_order"] = Json{{"ber", fixed->ber}, {"p_value", fixed->p_value}};
      set_p_value(e, 4);
    }
    e.alignment["reading"] = use_fixed ? "fixed_order" : "realigned";
  }
  model.train(was_training);
  if (key.has_ecc()) e.ecc = ecc_decode(key, e.bits).to_json();
  return e;
}

// --- Embedding ------------------------------------------------------------------------------

WhiteboxEmbedConfig parse_whitebox_embed_config(const Json& json, const std::string& file) {
  ConfigObject root(json, file);
  WhiteboxEmbedConfig c;
  c.data = parse_data_spec(root.get_object("data"));
  Json opt = json.value("optimizer", Json::object());
  if (!opt.is_object()) root.fail("optimizer", "must be an object");
  if (!opt.contains("lr")) opt["lr"] = 5e-5;  // fine-tuning a trained model: small steps
  root.get_object("optimizer");
  c.optimizer = parse_optimizer_spec(ConfigObject(opt, file, "optimizer"));
  ConfigObject wb = root.get_object("whitebox");
  c.lambda1 = wb.get_number("lambda1", c.lambda1);
  c.lambda2 = wb.get_number("lambda2", c.lambda2);
  if (c.lambda1 < 0) wb.fail("lambda1", "must be >= 0");
  if (!(c.lambda2 > 0)) wb.fail("lambda2", "must be positive");
  c.centre_lr = wb.get_number("centre_lr", c.centre_lr);
  if (!(c.centre_lr > 0)) wb.fail("centre_lr", "must be positive");
  c.margin = wb.get_number("margin", c.margin);
  if (c.margin < 0) wb.fail("margin", "must be >= 0");
  c.centre_init = wb.get_choice("centre_init", c.centre_init, {"class_mean", "uniform"});
  c.pull_reduction = wb.get_choice("pull_reduction", c.pull_reduction, {"mean", "sum"});
  c.pull_classes = wb.get_choice("pull_classes", c.pull_classes, {"all", "carriers"});
  c.pull_noise = wb.get_number("pull_noise", c.pull_noise);
  if (c.pull_noise < 0) wb.fail("pull_noise", "must be >= 0");
  ConfigObject harden = wb.get_object("harden");
  c.harden.weight_gain = harden.get_number("weight_gain", c.harden.weight_gain);
  if (!(c.harden.weight_gain > 0)) harden.fail("weight_gain", "must be positive");
  c.harden.input_gain = harden.get_number("input_gain", c.harden.input_gain);
  if (!(c.harden.input_gain > 0)) harden.fail("input_gain", "must be positive");
  harden.finish();
  wb.finish();
  c.max_epochs = root.get_positive_int("max_epochs", c.max_epochs);
  c.batch_size = root.get_positive_int("batch_size", c.batch_size);
  c.accuracy_budget = root.get_fraction("accuracy_budget", c.accuracy_budget, true);
  c.from_scratch = root.get_bool("from_scratch", c.from_scratch);
  c.measure_overhead = root.get_bool("measure_overhead", c.measure_overhead);
  c.overhead_steps = root.get_positive_int("overhead_steps", c.overhead_steps);
  c.seed = root.get_seed("seed", c.seed);
  c.threads = int(root.get_positive_int("threads", c.threads));
  root.finish();
  return c;
}

Json whitebox_embed_config_to_json(const WhiteboxEmbedConfig& c) {
  return Json{{"data", data_spec_to_json(c.data)},
              {"optimizer", optimizer_spec_to_json(c.optimizer)},
              {"whitebox",
               {{"lambda1", c.lambda1},
                {"lambda2", c.lambda2},
                {"centre_lr", c.centre_lr},
                {"margin", c.margin},
                {"centre_init", c.centre_init},
                {"pull_reduction", c.pull_reduction},
                {"pull_classes", c.pull_classes},
                {"pull_noise", c.pull_noise},
                {"harden",
                 {{"weight_gain", c.harden.weight_gain}, {"input_gain", c.harden.input_gain}}}}},
              {"max_epochs", c.max_epochs},
              {"batch_size", c.batch_size},
              {"accuracy_budget", c.accuracy_budget},
              {"from_scratch", c.from_scratch},
              {"measure_overhead", c.measure_overhead},
              {"overhead_steps", c.overhead_steps},
              {"seed", c.seed},
              {"threads", c.threads}};
}

namespace {

struct ClassMeans {
  torch::Tensor means;       // classes x width
  bool nonnegative = false;  // every activation seen was >= 0 (a ReLU layer)
};

// Per-class mean activation of the layer over (up to 10,000 samples of) the training data.
ClassMeans class_mean_centres(torch::jit::Module& model, const WhiteboxKey& key,
                              const Dataset& train, const std::string& model_path) {
  c10::InferenceMode guard;
  model.eval();
  Dataset sample = subset(train, std::min(1.0, 10000.0 / double(train.size())), 17);
  torch::Tensor sums = torch::zeros({train.num_classes, key.layer_width});
  torch::Tensor counts = torch::zeros({train.num_classes, 1});
  bool nonnegative = true;
  for (int64_t s = 0; s < sample.size(); s += 1000) {
    int64_t len = std::min<int64_t>(1000, sample.size() - s);
    auto acts = layer_activations(model, sample.images.narrow(0, s, len), key.layer, model_path);
    auto y = sample.labels.narrow(0, s, len);
    nonnegative = nonnegative && acts.min().item<float>() >= 0.0f;
    sums.index_add_(0, y, acts);
    counts.index_add_(0, y, torch::ones({len, 1}));
  }
  model.train(true);
  return ClassMeans{sums / counts.clamp_min(1), nonnegative};
}

}  // namespace

namespace {

// The DeepSigns embedding loss as a step function: cross-entropy + lambda1 * (pull of the
// carriers' activations to their class centres + bounded separation of the centres + unit norm)
// + lambda2 * payload BCE on the carriers' centres. `centres` (classes x width, requires grad)
// are trained beside the model; `scale` divides the activations (see embed_whitebox).
StepFn whitebox_embed_step(torch::jit::Module& model, const std::string& model_path,
                           const WhiteboxKey& key, const WhiteboxEmbedConfig& config,
                           int64_t num_classes, double scale, torch::Tensor centres,
                           bool clamp_centres) {
  auto terms = std::make_shared<CentreTerms>();
  terms->projection = key.projection.to(torch::kFloat32).contiguous();
  terms->target_bits = key.bits.to(torch::kFloat32).contiguous();
  // Shifting each logit by -margin * (2b - 1) makes the BCE push b = 1 bits past +margin and
  // b = 0 bits below -margin.
  terms->margin_shift = ((2.0 * terms->target_bits - 1.0) * config.margin).contiguous();
  terms->carriers = key.carriers;
  terms->lambda1 = config.lambda1;
  terms->lambda2 = config.lambda2;
  const bool pull_mean = config.pull_reduction == "mean";
  const bool pull_carriers_only = config.pull_classes == "carriers";
  torch::Tensor is_carrier = torch::zeros({num_classes}, torch::kBool);
  for (int64_t c : key.carriers) is_carrier[c] = true;
  const std::string layer = key.layer;
  // Noise-aware pull: the marked dense layer recomputed from its input with noisy weights.
  torch::Tensor weight, bias;
  std::string input_tap;
  bool pool_input = false;
  double noise_std = 0.0;
  if (config.pull_noise > 0) {
    weight = find_tensor(model, layer + ".weight");
    bias = find_tensor(model, layer + ".bias");
    if (!weight.defined() || weight.dim() != 2 || layer.rfind("fc", 0) != 0) {
      throw InputError("pull_noise needs the marked layer to be a dense layer fcK");
    }
    const int k = std::stoi(layer.substr(2));
    if (k > 1) {
      input_tap = "fc" + std::to_string(k - 1);
    } else {
      for (int n = 64; n >= 1 && input_tap.empty(); --n) {
        if (find_tensor(model, "conv" + std::to_string(n) + ".weight").defined()) {
          input_tap = "conv" + std::to_string(n);
        }
      }
      pool_input = true;  // the zoo CNN: max pooling 2x2 after each conv block
      if (input_tap.empty()) throw InputError("pull_noise: no tap feeds " + layer);
    }
    noise_std = config.pull_noise * weight.detach().pow(2).mean().sqrt().item<double>();
  }
  // Few ops: on the MLP a step is ~10 ms and every extra op costs ~10 us. The pull touches only
  // the rows it weighs (the carriers' samples: about one in ten); the centre-only terms are
  // one hand-differentiated function (centre_terms.h).
  return [=, &model](const torch::Tensor& x, const torch::Tensor& y, const BatchShard& shard) {
    if (clamp_centres) {
      torch::NoGradGuard no_grad;
      centres.clamp_min_(0.0);
    }
    auto taps = call_taps(model, x, model_path);
    torch::Tensor logits = taps.at("logits");
    torch::Tensor f = taps.at(layer).flatten(1);
    torch::Tensor labels = y;
    torch::Tensor rows;
    if (pull_carriers_only) {
      rows = is_carrier.index_select(0, y).nonzero().squeeze(1);
      f = f.index_select(0, rows);
      labels = y.index_select(0, rows);
    }
    if (noise_std > 0) {
      torch::Tensor in = taps.at(input_tap);
      if (rows.defined()) in = in.index_select(0, rows);
      if (pool_input) in = torch::max_pool2d(in, {2, 2});
      in = in.flatten(1);
      torch::Tensor noise = torch::randn(weight.sizes()) * noise_std;
      f = torch::relu(torch::linear(in, weight + noise, bias));
    }
    torch::Tensor pull =
        (0.5 * config.lambda1 / (pull_mean ? double(shard.global_size) : 1.0)) *
        torch::mse_loss(f / scale, centres.index_select(0, labels), at::Reduction::Sum);
    // Separation is paid per sample (this process's), the payload once per carrier in the
    // global batch (see BatchShard).
    auto class_counts = [num_classes](const torch::Tensor& labels) {
      std::vector<double> counts(size_t(num_classes), 0.0);
      torch::Tensor l = labels.contiguous();
      const int64_t* p = l.data_ptr<int64_t>();
      for (int64_t i = 0; i < l.numel(); ++i) counts[size_t(p[i])] += 1.0;
      return counts;
    };
    torch::Tensor rest = centre_terms(*terms, centres, class_counts(y),
                                      class_counts(shard.global_labels),
                                      double(shard.global_size), shard.share);
    torch::Tensor loss0 =
        torch::nn::functional::cross_entropy(
            logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum)) /
        double(shard.global_size);
    return StepOutput{loss0 + pull + rest, logits};
  };
}

}  // namespace

WhiteboxEmbedResult embed_whitebox(torch::jit::Module& model, const std::string& model_path,
                                   const WhiteboxKey& key, const DataSplits& data,
                                   const WhiteboxEmbedConfig& config) {
  WhiteboxEmbedResult r;
  r.ber_before = extract_whitebox(model, key, model_path, false).ber;  // validates layer and width
  r.accuracy_before = evaluate_accuracy(model, data.test, 1000);
  spdlog::info("before embedding: test accuracy {:.4f}, BER {:.3f} on the triggers",
               r.accuracy_before, r.ber_before);

  Stopwatch init_clock;
  // The centre terms assume centres near unit norm, but a trained layer's activations are far
  // larger (~29 for the MLP's fc2). Dividing the activations by a constant `scale`, the mean
  // norm of the class means before embedding, puts both on the same footing. Extraction is
  // unaffected: the sign of (mean activation . A) does not depend on a positive scale.
  ClassMeans init = class_mean_centres(model, key, data.train, model_path);
  torch::Tensor class_means = init.means.clone();
  // On a ReLU layer a centre with negative entries is out of the activations' reach: the BCE
  // could be satisfied by the centre while the activations never follow. Keep centres in the
  // activations' range (projected gradient descent).
  const bool clamp_centres = init.nonnegative;
  const double scale = std::max(1e-6, class_means.norm(2, 1).mean().item<double>());
  torch::Tensor centres;
  if (config.centre_init == "class_mean") {
    centres = class_means / scale;
  } else {
    auto gen = at::detail::createCPUGenerator(mix_seed(config.seed, 3));
    centres = torch::rand({data.train.num_classes, key.layer_width}, gen, torch::kFloat32);
  }
  centres.requires_grad_(true);
  r.centre_init_seconds = init_clock.seconds();

  seed_training_generator(mix_seed(config.seed, 2));
  auto model_opt = make_optimizer(config.optimizer, trainable_parameters(model));
  torch::optim::Adam centre_opt({centres}, torch::optim::AdamOptions(config.centre_lr));
  const int64_t num_classes = data.train.num_classes;
  StepFn step = whitebox_embed_step(model, model_path, key, config, num_classes, scale, centres,
                                    clamp_centres);

  for (int64_t e = 0; e < config.max_epochs; ++e) {
    std::string label = "embed epoch " + std::to_string(e + 1) + "/" +
                        std::to_string(config.max_epochs);
    EpochStats s = run_epoch(model, {model_opt.get(), &centre_opt}, data.train, config.batch_size,
                             mix_seed(config.seed, 100 + uint64_t(e)), step, label);
    s.epoch = e + 1;
    s.test_accuracy = evaluate_accuracy(model, data.test, 1000);
    double ber = extract_whitebox(model, key, model_path, false).ber;
    r.epoch_stats.push_back(s);
    r.epoch_ber.push_back(ber);
    spdlog::info("{}: loss {:.4f}  test acc {:.4f}  BER {:.4f}  {:.1f} s", label, s.loss,
                 s.test_accuracy, ber, s.seconds);
    r.epochs = e + 1;
    r.accuracy_after = s.test_accuracy;
    r.ber_after = ber;
    if (ber == 0.0 && r.accuracy_before - s.test_accuracy <= config.accuracy_budget) {
      r.stop_reason = "converged";
      break;
    }
  }
  if (r.stop_reason.empty()) r.stop_reason = "max_epochs";

  if (config.measure_overhead && !distributed()) {
    // The embedding's cost over plain fine-tuning, per step: copies of the marked model (and of
    // the centres) take plain and embedding steps on the same batches, alternately, so that
    // the machine's noise falls on both alike. The marked model is not touched.
    torch::jit::Module plain_model = clone_model(model);
    torch::jit::Module embed_model = clone_model(model);
    torch::Tensor centres_copy = centres.detach().clone().requires_grad_(true);
    auto plain_opt = make_optimizer(config.optimizer, trainable_parameters(plain_model));
    auto embed_opt = make_optimizer(config.optimizer, trainable_parameters(embed_model));
    torch::optim::Adam centre_copy_opt({centres_copy},
                                       torch::optim::AdamOptions(config.centre_lr));
    StepSetup plain{&plain_model, {plain_opt.get()}, cross_entropy_step(plain_model)};
    StepSetup marked{&embed_model, {embed_opt.get(), &centre_copy_opt},
                     whitebox_embed_step(embed_model, model_path, key, config, num_classes,
                                         scale, centres_copy, clamp_centres)};
    const int64_t steps = std::max<int64_t>(
        10, std::min<int64_t>(config.overhead_steps, data.train.size() / config.batch_size));
    StepTimes t = compare_step_seconds(plain, marked, data.train, config.batch_size,
                                       mix_seed(config.seed, 4), steps);
    r.plain_step_seconds = t.a_seconds;
    r.embed_step_seconds = t.b_seconds;
    r.timed_steps = t.steps;
    spdlog::info("step time: plain fine-tuning {:.2f} ms, embedding {:.2f} ms ({:+.1f}%, median "
                 "of {} interleaved steps each)",
                 1e3 * t.a_seconds, 1e3 * t.b_seconds, 100.0 * (t.b_seconds / t.a_seconds - 1.0),
                 t.steps);
  }
  model.eval();
  if (config.harden.enabled()) {
    torch::Tensor probe = data.test.images.narrow(0, 0, std::min<int64_t>(256, data.test.size()));
    harden_layer(model, key.layer, config.harden, probe);
    r.accuracy_before_hardening = r.accuracy_after;
    r.accuracy_after = evaluate_accuracy(model, data.test, 1000);
    r.ber_after = extract_whitebox(model, key, model_path, false).ber;
    spdlog::info("hardened {} (weights x{}, input x{}): test acc {:.4f}, BER {:.4f}", key.layer,
                 config.harden.weight_gain, config.harden.input_gain, r.accuracy_after,
                 r.ber_after);
  }
  return r;
}

}  // namespace ds
