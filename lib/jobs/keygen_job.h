// The ds-gen-keys job: make an owner's key for a base model from a JSON config.
#pragma once

#include <string>
#include <vector>

#include "core/config.h"
#include "core/job.h"

namespace ds {

struct KeygenJob {
  std::string config_path;  // JSON: kind, seed, data, whitebox or blackbox (configs/keys-*.json)
  std::string model_path;   // the base model the key is made for
  std::string extend_path;  // optional: an existing key to add this part to (one key, both parts)
  std::string out_path;     // key file to write
  std::string report_path;  // optional JSON report
  std::string owner_path;   // optional: the owner's secret (signing.h); signs the key
  std::string commitment_path;  // optional: the public commitment to write (needs owner_path)
  // Optional: the white-box loss for the user's own training loop (loss_export_job.h), with the
  // embedding config it takes its weights from. Without config_path, exported for the existing
  // key at extend_path instead of a new one.
  std::string export_loss_path;
  std::string embed_config_path;
};

struct KeygenJobResult : JobResult {
  std::string key_path;
  std::string kind;    // whitebox | blackbox | regions: the part made; loss: only the loss
  Json fields;         // kind, inputs, outputs, the part's description, seed, signature

  Json to_json() const override { return fields; }
  std::vector<std::string> summary() const override;

 private:
  std::vector<std::string> part_summary() const;  // the key part's line
};

// Only the loss of the existing key job.extend_path (no config_path): writes
// job.export_loss_path and the report.
KeygenJobResult run_export_loss_job(const KeygenJob& job);

// Makes the key, writes it (and the commitment) and the report when job.report_path is set.
KeygenJobResult run_keygen_job(const KeygenJob& job);

}  // namespace ds
