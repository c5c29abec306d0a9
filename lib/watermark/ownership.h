// The ownership decision: every check the owner's key supports, run on a suspect model (or, for
// the black-box part alone, on the labels a remote model gave the key inputs), and the verdict.
// One rule decides: each part checked yields an exact p-value (or a stated upper bound), and two
// tests of "the suspect is unrelated to the key" share alpha: the strongest part alone (its
// p-value times the parts checked, Bonferroni) and every part together (Fisher's combination;
// the parts draw their targets independently, so their p-values are independent under that
// null). Ownership is proven when twice the smaller is at most alpha, so the verdict's
// false-claim probability is at most alpha whichever test proves it. One part: its p-value.
#pragma once

#include <torch/script.h>

#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "watermark/blackbox.h"
#include "watermark/key_types.h"
#include "watermark/region_key.h"
#include "watermark/whitebox_extract.h"

namespace ds {

// Default false-claim probability at which ownership is declared: an unrelated model matches a
// 64-bit payload this well with probability below one in a million.
constexpr double kDefaultAlpha = 1e-6;

struct WhiteboxVerdict {
  bool checked = false;   // false: the key has a white-box part but no weights were given
  bool verified = false;  // p_value <= the per-part alpha
  std::string layer;
  std::vector<int64_t> carriers;
  WhiteboxExtraction extraction;
};

struct BlackboxVerdict {
  BlackboxDecision decision;
  double false_claim_probability = 0;  // the key's p at embedding (which keys were kept)
};

struct RegionVerdict {
  RegionDecision decision;
  bool verified = false;  // p_value <= the per-part alpha
};

// How many tests share alpha when `parts` parts are checked: 2, or 1 for a single part, whose
// p-value is both tests at once.
inline int64_t verdict_tests(int64_t parts) { return parts > 1 ? 2 : 1; }

// The verdict's p-value from the parts' p-values (log10): with one part its own; with more, twice
// the smaller of the strongest-part test and Fisher's combination (each at alpha / 2).
struct CombinedPValue {
  double log10_strongest_part = 0;  // the smallest part's p-value times the parts, at most 1
  double log10_all_parts = 0;       // Fisher's combination of every part
  double log10_p_value = 0;         // what the verdict compares with alpha
  int64_t tests = 1;                // the tests alpha is shared between (1 or 2)
};
CombinedPValue combine_parts(const std::vector<double>& log10_p);

struct OwnershipVerdict {
  bool verified = false;
  double alpha = kDefaultAlpha;
  int64_t parts_checked = 0;
  double p_value = 1, log10_p_value = 0;  // the combined p-value (combine_parts), at most 1
  CombinedPValue combined;
  std::optional<WhiteboxVerdict> whitebox;
  std::optional<BlackboxVerdict> blackbox;
  std::optional<RegionVerdict> regions;

  // The level at which one part alone proves ownership: alpha shared by the tests, then by the
  // parts (the strongest-part test's Bonferroni share).
  double part_alpha() const {
    int64_t parts = std::max<int64_t>(parts_checked, 1);
    return alpha / double(parts * verdict_tests(parts));
  }
  // The report fields: verified, alpha, parts_checked, p_value, log10_p_value, combination
  // (both tests' log10 p-values), whitebox, blackbox, regions, and for tables ber (white-box),
  // mismatches and threshold (black-box).
  Json to_json() const;
  // One line per part, for the log.
  std::vector<std::string> summary() const;
};

// Every check the key supports on an in-memory model, or on `answers` to the key's queries
// (query_inputs order: black-box keys, then keyed-region inputs) when `model` is null.
OwnershipVerdict decide_ownership(torch::jit::Module* model, const std::string& model_path,
                                  const OwnerKey& key, const torch::Tensor& answers, double alpha);

}  // namespace ds

namespace ds {
// The inputs a remote suspect is asked about, in the order --predictions lists its answers
// (undefined when the key has none), and how many there are.
torch::Tensor query_inputs(const OwnerKey& key);
int64_t query_count(const OwnerKey& key);
}  // namespace ds
