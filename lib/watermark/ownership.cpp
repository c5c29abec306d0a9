// The ownership verdict from a key's parts, the rule that combines their p-values, its report
// fields and its log lines.
#include "watermark/ownership.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cmath>

#include "core/errors.h"
#include "watermark/stats.h"

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

Json regions_json(const RegionVerdict& r) {
  const RegionDecision& d = r.decision;
  return Json{{"verified", r.verified},       {"queries", d.queries},
              {"matches", d.matches},         {"regions_hit", d.regions_hit},
              {"p_value", d.p_value},         {"log10_p_value", d.log10_p_value}};
}

}  // namespace

CombinedPValue combine_parts(const std::vector<double>& log10_p) {
  CombinedPValue c;
  if (log10_p.empty()) return c;
  const double parts = double(log10_p.size());
  c.log10_strongest_part =
      std::min(0.0, *std::min_element(log10_p.begin(), log10_p.end()) + std::log10(parts));
  c.log10_all_parts = log10_fisher_combined(log10_p);
  c.tests = verdict_tests(int64_t(log10_p.size()));
  c.log10_p_value = std::min(0.0, std::min(c.log10_strongest_part, c.log10_all_parts) +
                                      std::log10(double(c.tests)));
  return c;
}

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
  if (regions) r["regions"] = regions_json(*regions);
  r["verified"] = verified;
  r["alpha"] = alpha;
  r["parts_checked"] = parts_checked;
  r["p_value"] = p_value;
  r["log10_p_value"] = log10_p_value;
  r["combination"] = Json{{"tests", combined.tests},
                          {"strongest_part", {{"log10_p_value", combined.log10_strongest_part}}},
                          {"all_parts", {{"log10_p_value", combined.log10_all_parts}}}};
  return r;
}

std::vector<std::string> OwnershipVerdict::summary() const {
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
    lines.push_back(fmt::format("white-box: BER {:.4f}, p-value {:.3g}", e.ber, e.p_value));
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
  if (regions) {
    const RegionDecision& d = regions->decision;
    lines.push_back(fmt::format(
        "keyed regions: {} of {} answers on the region targets ({} regions led), p-value {:.3g}",
        d.matches, d.queries, d.regions_hit, d.p_value));
  }
  if (combined.tests > 1) {
    lines.push_back(fmt::format(
        "combined: strongest part x {} parts = {:.3g}, all parts together (Fisher) = {:.3g}",
        parts_checked, std::pow(10.0, combined.log10_strongest_part),
        std::pow(10.0, combined.log10_all_parts)));
  }
  lines.push_back(fmt::format("ownership {}: p-value {:.3g} {} alpha {:.3g}{}",
                              verified ? "PROVEN" : "NOT proven", p_value, verified ? "<=" : ">",
                              alpha, combined.tests > 1 ? " (twice the smaller test)" : ""));
  return lines;
}

int64_t query_count(const OwnerKey& key) {
  int64_t n = key.regions ? key.regions->size() : 0;
  if (key.blackbox && key.blackbox->stage == "final") n += key.blackbox->size();
  return n;
}

torch::Tensor query_inputs(const OwnerKey& key) {
  std::vector<torch::Tensor> parts;
  if (key.blackbox && key.blackbox->stage == "final") parts.push_back(key.blackbox->inputs);
  if (key.regions) parts.push_back(key.regions->inputs);
  if (parts.empty()) return torch::Tensor();
  return torch::cat(parts).contiguous();
}

OwnershipVerdict decide_ownership(torch::jit::Module* model, const std::string& model_path,
                                  const OwnerKey& key, const torch::Tensor& answers, double alpha) {
  if (key.blackbox && key.blackbox->stage != "final") {
    throw InputError("the key's black-box part holds candidates, not keys: embed it first");
  }
  OwnershipVerdict v;
  v.alpha = alpha;
  v.parts_checked = int64_t(bool(key.blackbox)) + int64_t(bool(key.regions)) +
                    int64_t(key.whitebox && model);
  const double part_alpha = v.part_alpha(), log10_part_alpha = std::log10(part_alpha);
  std::vector<double> part_log10_p;
  // Every part is judged the same way: alone, its p-value against the part's share of alpha.
  auto consider = [&](double log10_p) {
    part_log10_p.push_back(log10_p);
    return log10_p <= log10_part_alpha;
  };
  if (key.whitebox) {
    WhiteboxVerdict w;
    w.layer = key.whitebox->layer;
    w.carriers = key.whitebox->carriers;
    if (model) {
      w.checked = true;
      w.extraction = extract_whitebox(*model, *key.whitebox, model_path);
      w.verified = consider(w.extraction.log10_p_value);
    }
    v.whitebox = w;
  }
  // The model's answers to the key's queries, or the remote model's.
  torch::Tensor labels = answers;
  if (model && query_count(key) > 0) labels = predict_labels(*model, query_inputs(key));
  int64_t offset = 0;
  if (key.blackbox) {
    int64_t n = key.blackbox->size();
    BlackboxVerdict b{decide_blackbox(*key.blackbox, key.num_classes, labels.slice(0, 0, n),
                                      part_alpha),
                      key.blackbox->false_claim_probability};
    consider(b.decision.log10_p_value);
    v.blackbox = b;
    offset = n;
  }
  if (key.regions) {
    RegionVerdict r{decide_regions(*key.regions, key.num_classes, labels.slice(0, offset)), false};
    r.verified = consider(r.decision.log10_p_value);
    v.regions = r;
  }
  v.combined = combine_parts(part_log10_p);
  v.log10_p_value = v.combined.log10_p_value;
  v.p_value = std::pow(10.0, v.log10_p_value);
  v.verified = v.parts_checked > 0 && v.log10_p_value <= std::log10(alpha);
  return v;
}

}  // namespace ds
