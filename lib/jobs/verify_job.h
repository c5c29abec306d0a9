// The ds-verify job: decide whether a suspect model carries the owner's watermark.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/config.h"
#include "core/job.h"
#include "watermark/key_types.h"
#include "watermark/ownership.h"

namespace ds {

struct VerifyJob {
  std::string model_path;         // suspect model (or predictions_path for a remote model)
  std::string key_path;           // owner's key
  std::string report_path;        // optional JSON report
  std::string predictions_path;   // black-box, query-only: labels a remote model gave the keys
  std::string commitment_path;    // optional: the owner's published commitment (signing.h)
  std::string owner_public_path;  // optional: the owner's public key the key must be signed with
  double alpha = kDefaultAlpha;   // white-box: largest false-claim probability that proves
  // Check only these parts ("whitebox", "blackbox", "regions"; empty: every part the key
  // holds). Chosen before the suspect is asked, so the combined p-value stays honest.
  std::vector<std::string> parts;
  int jobs = 0;  // many suspects: how many are verified at once (0: one per core)
};

struct VerifyResult : JobResult {
  double alpha = kDefaultAlpha;
  Json inputs;      // key (with its content hash) and model or predictions, with digests
  Json key_checks;  // content hash, signature, commitment, owner (signing.h)
  OwnershipVerdict verdict;

  bool verified() const { return verdict.verified; }
  Json to_json() const override;
  std::vector<std::string> summary() const override;
};

// The job's key, read and checked (content hash, signature, commitment, owner; a black-box
// part must be final), with its report entry in inputs["key"] and the checks in key_checks;
// the parts job.parts leaves out are dropped after the checks.
OwnerKey read_trusted_key(const VerifyJob& job, Json& inputs, Json& key_checks);

// Runs every check the key supports and writes the report when job.report_path is set.
VerifyResult run_verify_job(const VerifyJob& job);

// Keeps only the named parts of the key (all when `parts` is empty); a name the key lacks is an
// input error naming --parts.
void keep_parts(OwnerKey& key, const std::vector<std::string>& parts, const std::string& key_path);

// Writes the inputs of the key's query parts (black-box keys, keyed regions; only those in
// job.parts when given) for querying a remote model: DIR/queries.pt (torch.save-compatible
// {'x': float images in [0, 1]}) and DIR/query_NNN.png, in key order. Returns their number.
int64_t export_queries(const VerifyJob& job, const std::string& dir);

// Reads labels a remote model returned: a JSON list of integers, or {"labels": [...]}.
torch::Tensor read_predictions(const std::string& path, int64_t count, int64_t num_classes);

}  // namespace ds
