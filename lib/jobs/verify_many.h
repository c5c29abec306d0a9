// ds-verify over many suspects in one process (scanning a model registry): the key, its trust
// checks and LibTorch are set up once, then each suspect is loaded and decided on its own and
// gets one JSON line. A suspect that cannot be read gets an error line and counts as not proven.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "core/job.h"
#include "jobs/verify_job.h"

namespace ds {

struct VerifyManyResult : JobResult {
  double alpha = kDefaultAlpha;
  Json inputs;      // the key
  Json key_checks;  // as in a single verification
  std::vector<Json> suspects;  // one line each: path, sha256, verdict, p-values or error
  int64_t proven = 0, unreadable = 0;

  Json to_json() const override;
  std::vector<std::string> summary() const override;
};

// `models`, then the paths listed in `list_path` ("" for none: one path per line; blank lines
// and lines starting with # are skipped). InputError naming the list when it cannot be read or
// names no model.
std::vector<std::string> suspect_paths(const std::vector<std::string>& models,
                                       const std::string& list_path);

// Verifies every suspect against job's key (job.model_path is not used), printing each line to
// `out` as soon as it is decided; writes the report when job.report_path is set. InputError
// for a bad key or flags (no line printed).
VerifyManyResult verify_many(const VerifyJob& job, const std::vector<std::string>& suspects,
                             std::ostream& out);

}  // namespace ds
