// Attack job: parse the attack, transform a copy of the model, measure, write.
#include "attack_job.h"

#include <cstdio>
#include <optional>

#include "attack_spec.h"
#include "distributed.h"
#include "errors.h"
#include "files.h"
#include "keys.h"
#include "model_io.h"
#include "report.h"
#include "runtime.h"
#include "train.h"
#include "verify_job.h"

namespace ds {

Json run_attack_job(const AttackJob& job) {
  Stopwatch total;
  Json json = read_json_file(job.config_path);
  if (json.is_object() && json.contains("grid")) {
    throw InputError(job.config_path + ": a sweep config (it has a 'grid'): use --out-dir");
  }
  AttackSpec spec = parse_attack_spec(json, job.config_path);
  set_threads(spec.threads);
  require_distinct(job.model_path, job.out_path);

  LoadedModel model = load_model(job.model_path);
  std::optional<OwnerKey> key;
  if (!job.key_path.empty()) key = read_key(job.key_path);
  std::optional<DataSplits> data, pool;
  std::optional<Dataset> attacker;
  if (spec.data) data = load_data(*spec.data);
  if (spec.attacker_data) pool = load_data(*spec.attacker_data);
  if (spec.needs_attacker_data()) {
    attacker = attacker_dataset(spec, *data, pool ? &*pool : nullptr);
  }

  AttackResult r = apply_attack(spec, model, data ? &*data : nullptr, attacker ? &*attacker : nullptr);
  Json info = r.info;
  if (!info.empty()) {
    info["provenance"].push_back(Json{{"tool", "ds-attack"}, {"attack", spec.kind},
                                      {"parent_sha256", model.sha256}});
  }
  agree_ok();
  if (!is_writer()) return Json();
  save_model(r.model, info, job.out_path);

  Json report = report_header("ds-attack");
  report["attack"] = json;
  report["details"] = r.details;
  report["inputs"] = Json{{"config", file_entry(job.config_path)},
                          {"model", {{"path", job.model_path}, {"sha256", model.sha256}}}};
  report["outputs"]["model"] = file_entry(job.out_path);
  if (attacker) {
    report["attacker_samples"] = attacker->size();
  }
  try {
    if (data) {
      if (job.measure_before) {
        report["test_accuracy_before"] = evaluate_accuracy(model.module, data->test, 1000);
      }
      report["test_accuracy"] = evaluate_accuracy(r.model, data->test, 1000);
    }
    if (key) {
      report["inputs"]["key"] = file_entry(job.key_path);
      if (job.measure_before) {
        report["verification_before"] =
            verify_parts(&model.module, job.model_path, *key, {}, kDefaultAlpha);
      }
      try {
        report["verification"] = verify_parts(&r.model, job.out_path, *key, {}, kDefaultAlpha);
      } catch (const InputError& e) {
        // The attack broke white-box extraction itself (for example, the marked layer changed
        // width); the black-box part, if any, is still checked.
        OwnerKey rest = *key;
        rest.whitebox.reset();
        Json v = rest.blackbox ? verify_parts(&r.model, job.out_path, rest, {}, kDefaultAlpha)
                               : Json{{"verified", false}};
        v["whitebox"] = Json{{"verified", false}, {"error", e.what()}};
        v["whitebox_error"] = e.what();
        report["verification"] = v;
      }
    }
    report["timings"] = Json{{"total_seconds", total.seconds()}};
    report["peak_rss_mib"] = peak_rss_mib();
  } catch (...) {
    std::remove(job.out_path.c_str());
    throw;
  }
  write_report_or_remove(job.report_path, report, {job.out_path});
  return report;
}

}  // namespace ds
