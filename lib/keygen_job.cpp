// Key generation job: reads the config, the base model and the owner's data, writes the key.
#include "keygen_job.h"

#include <cstdio>
#include <optional>

#include "data.h"
#include "errors.h"
#include "files.h"
#include "keys.h"
#include "model_io.h"
#include "report.h"
#include "signing.h"
#include "runtime.h"
#include "whitebox.h"
#include "blackbox.h"
#include <cstdio>

namespace ds {

Json run_keygen_job(const KeygenJob& job) {
  if (!job.commitment_path.empty() && job.owner_path.empty()) {
    throw InputError("--commitment needs --owner: only a signed key can be committed");
  }
  std::optional<OwnerIdentity> owner;
  if (!job.owner_path.empty()) owner = read_owner_secret(job.owner_path);
  Stopwatch total;
  Json json = read_json_file(job.config_path);
  ConfigObject root(json, job.config_path);
  std::string kind = root.get_choice("kind", "whitebox", {"whitebox", "blackbox"});
  int64_t seed = root.get_int("seed", -1);
  if (seed < 0) root.fail("seed", "is required (a non-negative integer): it fixes the key");
  bool needs_data = kind == "whitebox";
  DataSpec data_spec;
  if (needs_data || root.has("data")) data_spec = parse_data_spec(root.get_object("data"));
  WhiteboxKeySpec wb;
  BlackboxKeySpec bb;
  if (kind == "whitebox") wb = parse_whitebox_key_spec(root.get_object("whitebox"));
  if (kind == "blackbox") bb = parse_blackbox_key_spec(root.get_object("blackbox"));
  int threads = int(root.get_positive_int("threads", 1));
  root.finish();
  set_threads(threads);
  require_distinct(job.model_path, job.out_path);
  if (!job.extend_path.empty()) require_distinct(job.extend_path, job.out_path);

  LoadedModel model = load_model(job.model_path);
  OwnerKey key;
  if (!job.extend_path.empty()) {
    key = read_key(job.extend_path);
    if ((kind == "whitebox" && key.whitebox) || (kind == "blackbox" && key.blackbox)) {
      fail_input(job.extend_path, "key already has a " + kind + " part");
    }
  }
  Json report = report_header("ds-gen-keys");
  report["kind"] = kind;
  report["inputs"] = Json{{"config", file_entry(job.config_path)},
                          {"model", {{"path", job.model_path}, {"sha256", model.sha256}}}};
  if (!job.extend_path.empty()) report["inputs"]["extended_key"] = file_entry(job.extend_path);

  std::vector<int64_t> shape;
  int64_t classes = 0;
  DataSplits data;
  if (needs_data) {
    data = load_data(data_spec);
    shape = data.train.sample_shape();
    classes = data.train.num_classes;
    report["inputs"]["data"] = Json{{"digest", data.digest}, {"files", data.files}};
  } else {
    shape = model.input_shape();
    classes = model.num_classes();
  }
  if (!model.info.empty() && model.input_shape() != shape) {
    fail_input(job.model_path, "model input shape " + Json(model.input_shape()).dump() +
                                   " differs from the data's " + Json(shape).dump());
  }
  if (key.input_shape.empty()) {
    key.input_shape = shape;
    key.num_classes = classes;
    key.meta = Json{{"created_by", "ds-gen-keys"}, {"version", tool_version()}};
  } else if (key.input_shape != shape || key.num_classes != classes) {
    fail_input(job.extend_path, "key was made for another input shape or class count");
  }
  key.meta[kind + "_seed"] = seed;
  key.meta[kind + "_base_model_sha256"] = model.sha256;

  if (kind == "whitebox") {
    key.meta["data_digest"] = data.digest;
    key.whitebox = make_whitebox_key(wb, model.module, job.model_path, shape, data.train,
                                     uint64_t(seed), key.meta);
    WhiteboxExtraction base = extract_whitebox(model.module, *key.whitebox, job.model_path);
    const WhiteboxKey& w = *key.whitebox;
    report["whitebox"] = Json{{"layer", w.layer},
                              {"layer_width", w.layer_width},
                              {"carriers", w.carriers},
                              {"bits_per_carrier", w.bits_per_carrier()},
                              {"total_bits", w.total_bits()},
                              {"triggers", w.triggers.size(0)},
                              {"base_model_ber", base.ber}};
  } else {
    key.blackbox = make_blackbox_candidates(bb, model.module, shape, classes, uint64_t(seed));
    const BlackboxKey& b = *key.blackbox;
    report["blackbox"] = Json{{"stage", b.stage},
                              {"candidates", b.size()},
                              {"keys_wanted", b.keys_wanted},
                              {"source", bb.source},
                              {"base_model_wrong", b.base_predictions.ne(b.labels).sum().item<int64_t>()}};
  }
  key.signature.reset();  // an extended key's content changed: its old signature no longer holds
  if (owner) sign_key(key, *owner);
  write_key(key, job.out_path);
  if (!job.commitment_path.empty()) {
    try {
      write_file_atomically(job.commitment_path, make_commitment(key, job.out_path).dump(1) + "\n");
    } catch (...) {
      std::remove(job.out_path.c_str());
      throw;
    }
    report["outputs"]["commitment"] = file_entry(job.commitment_path);
  }
  if (key.signature) report["signature"] = Json{{"public_key", key.signature->public_key},
                                                {"created", key.signature->created}};
  report["outputs"]["key"] = file_entry(job.out_path);
  report["outputs"]["key"]["content_sha256"] = key.sha256;
  report["seed"] = seed;
  report["timings"] = Json{{"total_seconds", total.seconds()}};
  report["peak_rss_mib"] = peak_rss_mib();
  write_report_or_remove(job.report_path, report, {job.out_path});
  return report;
}

}  // namespace ds
