// Many suspects against one key (see verify_many.h).
#include "jobs/verify_many.h"

#include <fstream>

#include "core/errors.h"
#include "core/files.h"
#include "core/report.h"
#include "core/runtime.h"
#include "model/model_io.h"

namespace ds {

std::vector<std::string> suspect_paths(const std::vector<std::string>& models,
                                       const std::string& list_path) {
  std::vector<std::string> paths = models;
  if (list_path.empty()) return paths;
  std::ifstream in(list_path);
  if (!in) fail_input(list_path, "cannot read the list of suspect models");
  size_t listed = 0;
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    paths.push_back(line);
    ++listed;
  }
  if (listed == 0) fail_input(list_path, "lists no suspect model");
  return paths;
}

namespace {

// One suspect's line: its verdict and p-values, or why it could not be checked.
Json verify_one(const std::string& path, const OwnerKey& key, const std::string& key_path,
                double alpha) {
  Json line{{"path", path}};
  try {
    LoadedModel model = load_model(path);
    line["sha256"] = model.sha256;
    if (!model.info.empty() && model.input_shape() != key.input_shape) {
      fail_input(path, "takes inputs " + Json(model.input_shape()).dump() + ", the key " +
                           key_path + " was made for " + Json(key.input_shape).dump());
    }
    OwnershipVerdict v = decide_ownership(&model.module, path, key, torch::Tensor(), alpha);
    line["verdict"] = v.verified ? "proven" : "not proven";
    line["p_value"] = v.p_value;
    line["log10_p_value"] = v.log10_p_value;
    if (v.whitebox && v.whitebox->checked) {
      line["parts"]["whitebox"] = v.whitebox->extraction.p_value;
    }
    if (v.blackbox) line["parts"]["blackbox"] = v.blackbox->decision.p_value;
    if (v.regions) line["parts"]["regions"] = v.regions->decision.p_value;
  } catch (const std::exception& e) {
    line["verdict"] = "error";
    line["error"] = e.what();
  }
  return line;
}

}  // namespace

Json VerifyManyResult::to_json() const {
  return Json{{"inputs", inputs},       {"alpha", alpha},         {"key_checks", key_checks},
              {"suspects", suspects},   {"proven", proven},       {"unreadable", unreadable},
              {"checked", int64_t(suspects.size())}};
}

std::vector<std::string> VerifyManyResult::summary() const {
  return {std::to_string(proven) + " of " + std::to_string(suspects.size()) +
          " suspects proven (" + std::to_string(unreadable) + " could not be read)"};
}

VerifyManyResult verify_many(const VerifyJob& job, const std::vector<std::string>& suspects,
                             std::ostream& out) {
  if (!(job.alpha > 0 && job.alpha < 1)) throw InputError("--alpha must be in (0, 1)");
  if (!job.predictions_path.empty()) throw InputError("--predictions checks one remote model");
  if (suspects.empty()) throw InputError("give --model or --models-from");
  return run_job("ds-verify", job.report_path, [&] {
    set_threads(1);
    VerifyManyResult r;
    r.alpha = job.alpha;
    OwnerKey key = read_trusted_key(job, r.inputs, r.key_checks);
    for (const std::string& path : suspects) {
      Json line = verify_one(path, key, job.key_path, job.alpha);
      r.proven += line["verdict"] == "proven";
      r.unreadable += line["verdict"] == "error";
      out << line.dump() << std::endl;
      r.suspects.push_back(std::move(line));
    }
    return r;
  });
}

}  // namespace ds
