// The ds-verify job: decide whether a suspect model carries the owner's watermark.
#pragma once

#include <string>

#include "config.h"

namespace ds {

// Default false-claim probability at which ownership is declared: an unrelated model matches a
// 64-bit payload this well with probability below one in a million.
constexpr double kDefaultAlpha = 1e-6;

struct VerifyJob {
  std::string model_path;   // suspect model
  std::string key_path;     // owner's key
  std::string report_path;  // optional JSON report
  double alpha = kDefaultAlpha;
};

struct VerifyOutcome {
  bool verified = false;
  Json report;
};

VerifyOutcome run_verify_job(const VerifyJob& job);

}  // namespace ds
