// Verification job: extraction, binomial false-claim probability, verdict and report.
#include "verify_job.h"

#include "errors.h"
#include "keys.h"
#include "model_io.h"
#include "report.h"
#include "runtime.h"
#include "signing.h"
#include "whitebox.h"
#include "blackbox.h"
#include "files.h"
#include "png.h"

#include <cstdio>
#include <filesystem>
#include <optional>

namespace ds {

int64_t export_queries(const std::string& key_path, const std::string& dir) {
  OwnerKey key = read_key(key_path);
  if (!key.blackbox || key.blackbox->stage != "final") {
    fail_input(key_path, "key has no final black-box keys to export");
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (!std::filesystem::is_directory(dir)) fail_input(dir, "cannot create the export folder");
  const torch::Tensor& x = key.blackbox->inputs;
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

Json verify_parts(torch::jit::Module* model, const std::string& model_path, const OwnerKey& key,
                  const torch::Tensor& answers, double alpha) {
  Json r = Json::object();
  bool verified = false;
  double best_p = 1.0, best_log10_p = 0.0;
  if (key.whitebox && model) {
    WhiteboxExtraction e = extract_whitebox(*model, *key.whitebox, model_path);
    Json bits = Json::array();
    for (int64_t t = 0; t < e.bits.size(0); ++t) {
      std::string row;
      for (int64_t i = 0; i < e.bits.size(1); ++i) row += e.bits[t][i].item<int64_t>() ? '1' : '0';
      bits.push_back(row);
    }
    bool ok = e.p_value <= alpha;
    r["whitebox"] = Json{{"verified", ok},
                              {"layer", key.whitebox->layer},
                              {"carriers", key.whitebox->carriers},
                              {"bits", e.total},
                              {"bit_errors", e.errors},
                              {"ber", e.ber},
                              {"p_value", e.p_value},
                              {"log10_p_value", e.log10_p_value},
                              {"tests",
                               {{"binomial", {{"log10_p_value", e.binomial_log10_p}}},
                                {"correlation",
                                 {{"z", e.correlation_z},
                                  {"log10_p_value", e.correlation_log10_p}}}}},
                              {"extracted_bits", bits}};
    if (!e.alignment.is_null()) r["whitebox"]["alignment"] = e.alignment;
    if (!e.ecc.is_null()) r["whitebox"]["ecc"] = e.ecc;
    r["ber"] = e.ber;
    verified = verified || ok;
    if (e.log10_p_value < best_log10_p) best_p = e.p_value, best_log10_p = e.log10_p_value;
  } else if (key.whitebox) {
    r["whitebox"] = Json{{"checked", false}, {"why", "needs the model's weights"}};
  }
  if (key.blackbox) {
    if (key.blackbox->stage != "final") {
      throw InputError("the key's black-box part holds candidates, not keys: embed it first");
    }
    torch::Tensor labels = model ? predict_labels(*model, key.blackbox->inputs) : answers;
    BlackboxDecision d = decide_blackbox(*key.blackbox, key.num_classes, labels);
    r["blackbox"] = Json{{"verified", d.verified},
                              {"keys", d.keys},
                              {"mismatches", d.mismatches},
                              {"threshold", d.threshold},
                              {"false_claim_probability", key.blackbox->false_claim_probability},
                              {"threshold_false_claim", d.threshold_false_claim},
                              {"p_value", d.p_value},
                              {"log10_p_value", d.log10_p_value}};
    r["mismatches"] = d.mismatches;
    r["threshold"] = d.threshold;
    verified = verified || d.verified;
    if (d.log10_p_value < best_log10_p) best_p = d.p_value, best_log10_p = d.log10_p_value;
  }
  r["verified"] = verified;
  r["p_value"] = best_p;
  r["log10_p_value"] = best_log10_p;
  return r;
}

VerifyOutcome run_verify_job(const VerifyJob& job) {
  Stopwatch total;
  if (!(job.alpha > 0 && job.alpha < 1)) throw InputError("--alpha must be in (0, 1)");
  if (job.model_path.empty() == job.predictions_path.empty()) {
    throw InputError("give either --model or --predictions");
  }
  set_threads(1);
  OwnerKey key = read_key(job.key_path);
  VerifyOutcome out;
  Json& report = out.report;
  report = report_header("ds-verify");
  report["inputs"]["key"] = file_entry(job.key_path);
  report["inputs"]["key"]["content_sha256"] = key.sha256;
  report["alpha"] = job.alpha;
  // Evidence first: a key that fails a check is refused, never scored.
  report["key_checks"] = check_key_trust(key, job.key_path, job.commitment_path,
                                         job.owner_public_path);

  if (key.blackbox && key.blackbox->stage != "final") {
    fail_input(job.key_path, "black-box part holds candidates, not keys: embed it first");
  }
  std::optional<LoadedModel> model;
  torch::Tensor answers;
  if (!job.model_path.empty()) {
    model = load_model(job.model_path);
    report["inputs"]["model"] = Json{{"path", job.model_path}, {"sha256", model->sha256}};
    if (!model->info.empty() && model->input_shape() != key.input_shape) {
      fail_input(job.key_path, "key was made for inputs " + Json(key.input_shape).dump() +
                                   ", the model takes " + Json(model->input_shape()).dump());
    }
  } else {
    if (!key.blackbox || key.blackbox->stage != "final") {
      fail_input(job.key_path, "--predictions needs a key with final black-box keys");
    }
    answers = read_predictions(job.predictions_path, key.blackbox->size(), key.num_classes);
    report["inputs"]["predictions"] = file_entry(job.predictions_path);
  }

  Json parts = verify_parts(model ? &model->module : nullptr, job.model_path, key, answers,
                            job.alpha);
  report.update(parts);
  out.verified = parts["verified"].get<bool>();
  report["timings"] = Json{{"total_seconds", total.seconds()}};
  if (!job.report_path.empty()) write_report(job.report_path, report);
  return out;
}

}  // namespace ds
