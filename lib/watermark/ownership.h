// The ownership decision: every check the owner's key supports, run on a suspect model (or, for
// the black-box part alone, on the labels a remote model gave the key inputs), and the verdict.
// Ownership is proven when any part proves it; the overall false-claim probability is at most
// the sum of the parts'.
#pragma once

#include <torch/script.h>

#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "watermark/blackbox.h"
#include "watermark/key_types.h"
#include "watermark/whitebox_extract.h"

namespace ds {

// Default false-claim probability at which ownership is declared: an unrelated model matches a
// 64-bit payload this well with probability below one in a million.
constexpr double kDefaultAlpha = 1e-6;

struct WhiteboxVerdict {
  bool checked = false;   // false: the key has a white-box part but no weights were given
  bool verified = false;  // p_value <= alpha
  std::string layer;
  std::vector<int64_t> carriers;
  WhiteboxExtraction extraction;
};

struct BlackboxVerdict {
  BlackboxDecision decision;
  double false_claim_probability = 0;  // the key's p
};

struct OwnershipVerdict {
  bool verified = false;
  double p_value = 1, log10_p_value = 0;  // the strongest part's
  std::optional<WhiteboxVerdict> whitebox;
  std::optional<BlackboxVerdict> blackbox;

  // The report fields: verified, p_value, log10_p_value, whitebox, blackbox, and for tables
  // ber (white-box), mismatches and threshold (black-box).
  Json to_json() const;
  // One line per part, for the log.
  std::vector<std::string> summary(double alpha) const;
};

// Every check the key supports on an in-memory model, or on `answers` to the black-box queries
// when `model` is null.
OwnershipVerdict decide_ownership(torch::jit::Module* model, const std::string& model_path,
                                  const OwnerKey& key, const torch::Tensor& answers, double alpha);

}  // namespace ds
