// The ds-attack job: apply one attack to a model, write the attacked model, and report test
// accuracy and (given the owner's key) every verification result before and after. Sweeps
// (configs with a "grid") are in sweep.h.
#pragma once

#include <string>

#include "config.h"

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

Json run_attack_job(const AttackJob& job);

}  // namespace ds
