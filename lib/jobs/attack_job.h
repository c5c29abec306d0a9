// The ds-attack job: apply one attack to a model, write the attacked model, and report test
// accuracy and (given the owner's key) every verification result before and after. Sweeps
// (configs with a "grid") are in sweep_job.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/job.h"

namespace ds {

struct AttackJob {
  std::string config_path;  // JSON: attack kind and its settings (configs/attack-*.json)
  std::string model_path;   // the (marked) model to attack; never modified
  std::string out_path;     // attacked model to write
  std::string key_path;     // optional: owner's key, only to report verification
  std::string report_path;  // optional JSON report
  // Also measure the unattacked model (accuracy, verification). A sweep does that once, in its
  // first point, instead of in every point.
  bool measure_before = true;
};

struct AttackJobResult : JobResult {
  Json attack;   // the attack config as given
  Json details;  // what the attack did
  Json inputs;   // config, model and key with their digests
  std::string out_path;
  std::optional<int64_t> attacker_samples;
  std::optional<double> accuracy_before, accuracy;
  Json verification_before, verification;  // null when not measured

  Json to_json() const override;
  std::vector<std::string> summary() const override;
};

AttackJobResult run_attack_job(const AttackJob& job);

}  // namespace ds
