// White-box extraction: carrier means, bits, both tests, realigned reading, ECC decoding.
#include "watermark/whitebox_extract.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "core/errors.h"
#include "model/zoo.h"
#include "watermark/ecc.h"
#include "watermark/realign.h"
#include "watermark/stats.h"

namespace ds {

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
      parts.push_back(layer_activations(model, key.triggers.narrow(0, s, len), layer, model_path));
    }
    acts = torch::cat(parts);
  }
  if (alignment) acts = realign(acts, *alignment);
  check_tap_width(model_path, key.layer, acts.size(1), key.layer_width);
  std::vector<torch::Tensor> means;
  for (int64_t c : key.carriers) means.push_back(acts.index({key.trigger_labels.eq(c)}).mean(0));
  return torch::stack(means);
}

// The verdict's p-value from the reading's two tests, `tests` tried in all (Bonferroni).
void set_p_value(WhiteboxExtraction& e, int tests) {
  e.log10_p_value = std::min(
      0.0, std::min(e.binomial_log10_p, e.correlation_log10_p) + std::log10(double(tests)));
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
    WhiteboxExtraction aligned =
        score_projections(key, carrier_means(model, key, model_path, &alignment));
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

}  // namespace ds
