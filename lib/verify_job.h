// The ds-verify job: decide whether a suspect model carries the owner's watermark.
#pragma once

#include <torch/torch.h>

#include <string>

#include "config.h"

namespace ds {

// Default false-claim probability at which ownership is declared: an unrelated model matches a
// 64-bit payload this well with probability below one in a million.
constexpr double kDefaultAlpha = 1e-6;

struct VerifyJob {
  std::string model_path;        // suspect model (or predictions_path for a remote model)
  std::string key_path;          // owner's key
  std::string report_path;       // optional JSON report
  std::string predictions_path;  // black-box, query-only: labels a remote model gave the keys
  std::string commitment_path;   // optional: the owner's published commitment (signing.h)
  std::string owner_public_path; // optional: the owner's public key the key must be signed with
  double alpha = kDefaultAlpha;  // white-box: largest false-claim probability that proves
};

struct VerifyOutcome {
  bool verified = false;
  Json report;
};

struct OwnerKey;

// Every check the key supports on an in-memory model (or on `answers` to the black-box queries
// when `model` is null). Returns the report fields: verified, whitebox, blackbox, ber,
// mismatches, threshold, p_value, log10_p_value.
Json verify_parts(torch::jit::Module* model, const std::string& model_path, const OwnerKey& key,
                  const torch::Tensor& answers, double alpha);

// Runs every check the key supports; ownership is proven when any part verifies (the overall
// false-claim probability is at most the sum of the parts').
VerifyOutcome run_verify_job(const VerifyJob& job);

// Writes the black-box key inputs for querying a remote model: DIR/queries.pt
// (torch.save-compatible {'x': float images in [0, 1]}) and DIR/query_NNN.png, in key order.
// Returns the number of queries.
int64_t export_queries(const std::string& key_path, const std::string& dir);

// Reads labels a remote model returned: a JSON list of integers, or {"labels": [...]}.
torch::Tensor read_predictions(const std::string& path, int64_t count, int64_t num_classes);

}  // namespace ds
