// The ownership verdict from a key's white-box and black-box parts, its report fields and
// its log lines.
#include "watermark/ownership.h"

#include <spdlog/fmt/fmt.h>

#include "core/errors.h"

namespace ds {
namespace {

Json extracted_bits_json(const torch::Tensor& bits) {
  Json rows = Json::array();
  for (int64_t t = 0; t < bits.size(0); ++t) {
    std::string row;
    for (int64_t i = 0; i < bits.size(1); ++i) row += bits[t][i].item<int64_t>() ? '1' : '0';
    rows.push_back(row);
  }
  return rows;
}

Json whitebox_json(const WhiteboxVerdict& w) {
  if (!w.checked) return Json{{"checked", false}, {"why", "needs the model's weights"}};
  const WhiteboxExtraction& e = w.extraction;
  Json tests{{"binomial", {{"log10_p_value", e.binomial_log10_p}}},
             {"correlation", {{"z", e.correlation_z}, {"log10_p_value", e.correlation_log10_p}}}};
  Json j{{"verified", w.verified},
         {"layer", w.layer},
         {"carriers", w.carriers},
         {"bits", e.total},
         {"bit_errors", e.errors},
         {"ber", e.ber},
         {"p_value", e.p_value},
         {"tests", tests},
         {"log10_p_value", e.log10_p_value},
         {"extracted_bits", extracted_bits_json(e.bits)}};
  if (!e.alignment.is_null()) j["alignment"] = e.alignment;
  if (!e.ecc.is_null()) j["ecc"] = e.ecc;
  return j;
}

Json blackbox_json(const BlackboxVerdict& b) {
  const BlackboxDecision& d = b.decision;
  return Json{{"verified", d.verified},
              {"keys", d.keys},
              {"mismatches", d.mismatches},
              {"threshold", d.threshold},
              {"p_value", d.p_value},
              {"log10_p_value", d.log10_p_value},
              {"false_claim_probability", b.false_claim_probability},
              {"threshold_false_claim", d.threshold_false_claim}};
}

}  // namespace

Json OwnershipVerdict::to_json() const {
  Json r = Json::object();
  if (whitebox) {
    r["whitebox"] = whitebox_json(*whitebox);
    if (whitebox->checked) r["ber"] = whitebox->extraction.ber;
  }
  if (blackbox) {
    r["blackbox"] = blackbox_json(*blackbox);
    r["mismatches"] = blackbox->decision.mismatches;
    r["threshold"] = blackbox->decision.threshold;
  }
  r["verified"] = verified;
  r["p_value"] = p_value;
  r["log10_p_value"] = log10_p_value;
  return r;
}

std::vector<std::string> OwnershipVerdict::summary(double alpha) const {
  std::vector<std::string> lines;
  if (whitebox && whitebox->checked) {
    const WhiteboxExtraction& e = whitebox->extraction;
    if (!e.alignment.is_null()) {
      const Json& a = e.alignment;
      lines.push_back(
          fmt::format("white-box: layer '{}' ({} units) matched the key's profile: {} units, mean "
                      "correlation {:.3f}{}",
                      a["layer"].get<std::string>(), a["width"].get<int64_t>(),
                      a["units_matched"].get<int64_t>(), a["mean_correlation"].get<double>(),
                      a["identity"].get<bool>() ? ", in order" : ", reordered"));
    }
    lines.push_back(fmt::format("white-box: BER {:.4f}, p-value {:.3g} (alpha {:.3g})", e.ber,
                                e.p_value, alpha));
    if (!e.ecc.is_null()) {
      lines.push_back(
          fmt::format("white-box: error-corrected payload {} (false-claim probability {:.3g})",
                      e.ecc["recovered"].get<bool>() ? "recovered" : "not recovered",
                      e.ecc["false_claim_probability"].get<double>()));
    }
  }
  if (blackbox) {
    const BlackboxDecision& d = blackbox->decision;
    lines.push_back(
        fmt::format("black-box: {} of {} keys mismatched (threshold {}), p-value {:.3g}",
                    d.mismatches, d.keys, d.threshold, d.p_value));
  }
  lines.push_back(verified ? "ownership PROVEN" : "ownership NOT proven");
  return lines;
}

OwnershipVerdict decide_ownership(torch::jit::Module* model, const std::string& model_path,
                                  const OwnerKey& key, const torch::Tensor& answers, double alpha) {
  OwnershipVerdict v;
  auto consider = [&v](bool verified, double p, double log10_p) {
    v.verified = v.verified || verified;
    if (log10_p < v.log10_p_value) v.p_value = p, v.log10_p_value = log10_p;
  };
  if (key.whitebox) {
    WhiteboxVerdict w;
    w.layer = key.whitebox->layer;
    w.carriers = key.whitebox->carriers;
    if (model) {
      w.checked = true;
      w.extraction = extract_whitebox(*model, *key.whitebox, model_path);
      w.verified = w.extraction.p_value <= alpha;
      consider(w.verified, w.extraction.p_value, w.extraction.log10_p_value);
    }
    v.whitebox = w;
  }
  if (key.blackbox) {
    if (key.blackbox->stage != "final") {
      throw InputError("the key's black-box part holds candidates, not keys: embed it first");
    }
    torch::Tensor labels = model ? predict_labels(*model, key.blackbox->inputs) : answers;
    BlackboxVerdict b{decide_blackbox(*key.blackbox, key.num_classes, labels),
                      key.blackbox->false_claim_probability};
    consider(b.decision.verified, b.decision.p_value, b.decision.log10_p_value);
    v.blackbox = b;
  }
  return v;
}

}  // namespace ds
