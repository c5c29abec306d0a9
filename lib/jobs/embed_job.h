// The ds-embed-wm job: embed the key's watermark into a model and write the marked model.
#pragma once

#include <string>
#include <vector>

#include "core/config.h"
#include "core/job.h"

namespace ds {

struct EmbedJob {
  std::string config_path;  // JSON: see configs/embed-*.json
  std::string model_path;   // model to mark (never modified)
  std::string key_path;     // owner's key from ds-gen-keys
  std::string out_path;     // marked model to write
  std::string keys_out_path;  // black-box: the owner's final key (the K chosen keys) to write
  std::string report_path;  // optional JSON report
  std::string owner_path;   // optional: the owner's secret; signs the final key
  std::string commitment_path;  // optional: the final key's public commitment (needs owner_path)
};

struct EmbedJobResult : JobResult {
  std::string kind;  // whitebox | blackbox | regions
  std::string model_path, keys_path;  // what was written
  Json fields;       // config, inputs, outputs, epochs, accuracy, BER or key accuracy, timings

  Json to_json() const override { return fields; }
  std::vector<std::string> summary() const override;
};

// Embeds, writes the marked model (and the final key) and the report when job.report_path is set.
EmbedJobResult run_embed_job(const EmbedJob& job);

}  // namespace ds
