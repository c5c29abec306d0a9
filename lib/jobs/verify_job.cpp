// Verification job: extraction, binomial false-claim probability, verdict and report.
#include "jobs/verify_job.h"

#include "core/errors.h"
#include "core/files.h"
#include "core/job.h"
#include "core/report.h"
#include "core/runtime.h"
#include "data/png.h"
#include "model/model_io.h"
#include "watermark/key_file.h"
#include "watermark/ownership.h"
#include "watermark/signing.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>

namespace ds {

void keep_parts(OwnerKey& key, const std::vector<std::string>& parts, const std::string& key_path) {
  if (parts.empty()) return;
  auto wanted = [&](const char* name, bool held) {
    bool w = std::find(parts.begin(), parts.end(), name) != parts.end();
    if (w && !held) fail_input(key_path, std::string("key has no ") + name + " part (--parts)");
    return w;
  };
  if (!wanted("whitebox", bool(key.whitebox))) key.whitebox.reset();
  if (!wanted("blackbox", bool(key.blackbox))) key.blackbox.reset();
  if (!wanted("regions", bool(key.regions))) key.regions.reset();
}

int64_t export_queries(const VerifyJob& job, const std::string& dir) {
  const std::string& key_path = job.key_path;
  OwnerKey key = read_key(key_path);
  if (key.blackbox && key.blackbox->stage != "final") {
    fail_input(key_path, "black-box part holds candidates, not keys: embed it first");
  }
  keep_parts(key, job.parts, key_path);
  const torch::Tensor x = query_inputs(key);
  if (!x.defined()) fail_input(key_path, "key has no black-box keys or keyed regions to export");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (!std::filesystem::is_directory(dir)) fail_input(dir, "cannot create the export folder");
  c10::Dict<std::string, torch::Tensor> dict;
  dict.insert("x", x);
  std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
  write_file_atomically(dir + "/queries.pt", std::string(bytes.begin(), bytes.end()));
  for (int64_t i = 0; i < x.size(0); ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "/query_%03lld.png", (long long)i);
    write_file_atomically(dir + name, encode_png(x[i]));
  }
  return x.size(0);
}

torch::Tensor read_predictions(const std::string& path, int64_t count, int64_t num_classes) {
  Json j = read_json_file(path);
  if (j.is_object() && j.contains("labels")) j = j["labels"];
  if (!j.is_array()) fail_input(path, "expected a JSON list of labels or {\"labels\": [...]}");
  if (int64_t(j.size()) != count) {
    fail_input(path, "holds " + std::to_string(j.size()) + " labels, the key has " +
                         std::to_string(count) + " queries");
  }
  std::vector<int64_t> labels;
  for (const Json& v : j) {
    if (!v.is_number_integer()) fail_input(path, "labels must be integers");
    int64_t l = v.get<int64_t>();
    if (l < 0 || l >= num_classes) {
      fail_input(path, "label " + std::to_string(l) + " out of range 0.." +
                           std::to_string(num_classes - 1));
    }
    labels.push_back(l);
  }
  return torch::tensor(labels, torch::kInt64);
}

Json VerifyResult::to_json() const {
  Json r = verdict.to_json();
  r["inputs"] = inputs;
  r["alpha"] = alpha;
  r["key_checks"] = key_checks;
  return r;
}

std::vector<std::string> VerifyResult::summary() const {
  std::vector<std::string> lines = {
      "key: content hash " + key_checks["content_hash"].get<std::string>() + ", signature " +
      key_checks["signature"].get<std::string>() + ", commitment " +
      key_checks["commitment"].get<std::string>() + ", owner " +
      key_checks["owner"].get<std::string>()};
  for (const std::string& l : verdict.summary()) lines.push_back(l);
  return lines;
}

OwnerKey read_trusted_key(const VerifyJob& job, Json& inputs, Json& key_checks) {
  OwnerKey key = read_key(job.key_path);
  inputs["key"] = file_entry(job.key_path);
  inputs["key"]["content_sha256"] = key.sha256;
  // Evidence first: a key that fails a check is refused, never scored.
  key_checks = check_key_trust(key, job.key_path, job.commitment_path, job.owner_public_path);
  if (key.blackbox && key.blackbox->stage != "final") {
    fail_input(job.key_path, "black-box part holds candidates, not keys: embed it first");
  }
  keep_parts(key, job.parts, job.key_path);
  if (!job.parts.empty()) inputs["parts"] = job.parts;
  return key;
}

VerifyResult run_verify_job(const VerifyJob& job) {
  if (!(job.alpha > 0 && job.alpha < 1)) throw InputError("--alpha must be in (0, 1)");
  if (job.model_path.empty() == job.predictions_path.empty()) {
    throw InputError("give either --model or --predictions");
  }
  return run_job("ds-verify", job.report_path, [&] {
    set_threads(1);
    VerifyResult out;
    out.alpha = job.alpha;
    OwnerKey key = read_trusted_key(job, out.inputs, out.key_checks);
    std::optional<LoadedModel> model;
    torch::Tensor answers;
    if (!job.model_path.empty()) {
      model = load_model(job.model_path);
      out.inputs["model"] = Json{{"path", job.model_path}, {"sha256", model->sha256}};
      if (!model->info.empty() && model->input_shape() != key.input_shape) {
        fail_input(job.key_path, "key was made for inputs " + Json(key.input_shape).dump() +
                                     ", the model takes " + Json(model->input_shape()).dump());
      }
    } else {
      const int64_t queries = query_count(key);
      if (queries == 0) {
        fail_input(job.key_path, "--predictions needs a key with black-box keys or keyed regions");
      }
      answers = read_predictions(job.predictions_path, queries, key.num_classes);
      out.inputs["predictions"] = file_entry(job.predictions_path);
    }
    out.verdict = decide_ownership(model ? &model->module : nullptr, job.model_path, key, answers,
                                   job.alpha);
    return out;
  });
}

}  // namespace ds
