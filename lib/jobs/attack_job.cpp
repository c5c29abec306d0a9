// Attack job: parse the attack, transform a copy of the model, measure, write.
#include "jobs/attack_job.h"

#include <cstdio>

#include "attack/registry.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/report.h"
#include "core/runtime.h"
#include "model/distributed.h"
#include "model/model_io.h"
#include "model/train.h"
#include "watermark/key_file.h"
#include "watermark/ownership.h"

namespace ds {
namespace {

// Every check of the key on the attacked model. When the attack broke white-box extraction
// itself (for example, the marked layer changed width), the black-box part, if any, is still
// checked.
Json verify_attacked(torch::jit::Module& model, const std::string& path, const OwnerKey& key) {
  try {
    return decide_ownership(&model, path, key, {}, kDefaultAlpha).to_json();
  } catch (const InputError& e) {
    OwnerKey rest = key;
    rest.whitebox.reset();
    Json v = rest.blackbox ? decide_ownership(&model, path, rest, {}, kDefaultAlpha).to_json()
                           : Json{{"verified", false}};
    v["whitebox"] = Json{{"verified", false}, {"error", e.what()}};
    v["whitebox_error"] = e.what();
    return v;
  }
}

// Accuracy and verification of the attacked model (and of the original when asked).
void measure(const AttackJob& job, LoadedModel& model, torch::jit::Module& attacked,
             const std::optional<DataSplits>& data, const std::optional<OwnerKey>& key,
             AttackJobResult& out) {
  if (data) {
    if (job.measure_before) out.accuracy_before = evaluate_accuracy(model.module, data->test, 1000);
    out.accuracy = evaluate_accuracy(attacked, data->test, 1000);
  }
  if (key) {
    out.inputs["key"] = file_entry(job.key_path);
    if (job.measure_before) {
      out.verification_before =
          decide_ownership(&model.module, job.model_path, *key, {}, kDefaultAlpha).to_json();
    }
    out.verification = verify_attacked(attacked, job.out_path, *key);
  }
}

}  // namespace

Json AttackJobResult::to_json() const {
  Json r = Json::object();
  r["attack"] = attack;
  r["details"] = details;
  r["inputs"] = inputs;
  r["outputs"]["model"] = file_entry(out_path);
  if (attacker_samples) r["attacker_samples"] = *attacker_samples;
  if (accuracy_before) r["test_accuracy_before"] = *accuracy_before;
  if (accuracy) r["test_accuracy"] = *accuracy;
  if (!verification_before.is_null()) r["verification_before"] = verification_before;
  if (!verification.is_null()) r["verification"] = verification;
  return r;
}

std::vector<std::string> AttackJobResult::summary() const {
  std::vector<std::string> lines;
  if (accuracy_before && accuracy) {
    lines.push_back(fmt::format("test accuracy {:.4f} -> {:.4f}", *accuracy_before, *accuracy));
  }
  if (!verification_before.is_null()) {
    lines.push_back(
        fmt::format("ownership {} after the attack (before: {})",
                    verification["verified"].get<bool>() ? "still proven" : "NOT proven",
                    verification_before["verified"].get<bool>() ? "proven" : "not proven"));
  }
  lines.push_back("attacked model: " + out_path);
  return lines;
}

AttackJobResult run_attack_job(const AttackJob& job) {
  Json json = read_json_file(job.config_path);
  if (json.is_object() && json.contains("grid")) {
    throw InputError(job.config_path + ": a sweep config (it has a 'grid'): use --out-dir");
  }
  AttackSpec spec = parse_attack_spec(json, job.config_path);
  set_threads(spec.threads);
  require_distinct(job.model_path, job.out_path);
  return run_job("ds-attack", job.report_path, [&] {
    LoadedModel model = load_model(job.model_path);
    std::optional<OwnerKey> key;
    if (!job.key_path.empty()) key = read_key(job.key_path);
    std::optional<DataSplits> data, pool;
    std::optional<Dataset> attacker;
    if (spec.data) data = load_data(*spec.data);
    if (spec.attacker_data) pool = load_data(*spec.attacker_data);
    if (spec.needs_attacker_data) attacker = attacker_dataset(spec, *data, pool ? &*pool : nullptr);

    AttackResult r =
        apply_attack(spec, model, data ? &*data : nullptr, attacker ? &*attacker : nullptr);
    Json info = r.info;
    if (!info.empty()) {
      info["provenance"].push_back(
          Json{{"tool", "ds-attack"}, {"attack", spec.kind}, {"parent_sha256", model.sha256}});
    }
    agree_ok();
    AttackJobResult out;
    out.write_report = is_writer();
    if (!out.write_report) return out;
    save_model(r.model, info, job.out_path);
    out.outputs = {job.out_path};
    out.out_path = job.out_path;
    out.attack = json;
    out.details = r.details;
    out.inputs = Json{{"config", file_entry(job.config_path)},
                      {"model", {{"path", job.model_path}, {"sha256", model.sha256}}}};
    if (attacker) out.attacker_samples = attacker->size();
    try {
      measure(job, model, r.model, data, key, out);
    } catch (...) {
      std::remove(job.out_path.c_str());
      throw;
    }
    return out;
  });
}

}  // namespace ds
