// Key generation job: reads the config, the base model and the owner's data, writes the key.
#include "jobs/keygen_job.h"

#include <cstdio>
#include <optional>

#include "core/errors.h"
#include "core/files.h"
#include "core/job.h"
#include "core/report.h"
#include "core/runtime.h"
#include "data/data_spec.h"
#include "jobs/loss_export_job.h"
#include "model/model_io.h"
#include "watermark/blackbox.h"
#include "watermark/key_file.h"
#include "watermark/region_key.h"
#include "watermark/signing.h"
#include "watermark/whitebox_embed.h"
#include "watermark/whitebox_extract.h"
#include "watermark/whitebox_key.h"

namespace ds {

namespace {

// What a key config asks for (configs/keys-*.json).
struct KeygenSettings {
  std::string kind;
  int64_t seed = -1;
  bool needs_data = false;
  DataSpec data;
  WhiteboxKeySpec whitebox;
  BlackboxKeySpec blackbox;
  RegionKeySpec regions;
  int threads = 1;
};

KeygenSettings read_keygen_config(const std::string& path) {
  Json json = read_json_file(path);
  ConfigObject root(json, path);
  KeygenSettings s;
  s.kind = root.get_choice("kind", "whitebox", {"whitebox", "blackbox", "regions"});
  s.seed = root.get_int("seed", -1);
  if (s.seed < 0) root.fail("seed", "is required (a non-negative integer): it fixes the key");
  s.needs_data = s.kind == "whitebox" || s.kind == "regions";
  if (s.needs_data || root.has("data")) s.data = parse_data_spec(root.get_object("data"));
  if (s.kind == "whitebox") s.whitebox = parse_whitebox_key_spec(root.get_object("whitebox"));
  if (s.kind == "blackbox") s.blackbox = parse_blackbox_key_spec(root.get_object("blackbox"));
  if (s.kind == "regions") s.regions = parse_region_key_spec(root.get_object("regions"));
  s.threads = int(root.get_positive_int("threads", 1));
  root.finish();
  return s;
}

// The key to add a part to: the one being extended, or an empty one.
OwnerKey starting_key(const KeygenJob& job, const std::string& kind) {
  OwnerKey key;
  if (!job.extend_path.empty()) {
    key = read_key(job.extend_path);
    if ((kind == "whitebox" && key.whitebox) || (kind == "blackbox" && key.blackbox) ||
        (kind == "regions" && key.regions)) {
      fail_input(job.extend_path, "key already has a " + kind + " part");
    }
  }
  return key;
}

// A fresh key takes the data's input shape and classes; an extended one must have them.
void fit_key_to_data(const KeygenJob& job, const std::vector<int64_t>& shape, int64_t classes,
                     OwnerKey& key) {
  if (key.input_shape.empty()) {
    key.input_shape = shape;
    key.num_classes = classes;
    key.meta = Json{{"created_by", "ds-gen-keys"}, {"version", tool_version()}};
  } else if (key.input_shape != shape || key.num_classes != classes) {
    fail_input(job.extend_path, "key was made for another input shape or class count");
  }
}

// Makes the configured part of `key`; returns its description for the report.
Json make_key_part(const KeygenSettings& s, LoadedModel& model, const DataSplits& data,
                   const std::vector<int64_t>& shape, int64_t classes, OwnerKey& key) {
  if (s.kind == "whitebox") {
    key.meta["data_digest"] = data.digest;
    key.whitebox = make_whitebox_key(s.whitebox, model.module, model.path, shape, data.train,
                                     uint64_t(s.seed), key.meta);
    WhiteboxExtraction base = extract_whitebox(model.module, *key.whitebox, model.path);
    const WhiteboxKey& w = *key.whitebox;
    return Json{{"layer", w.layer},
                {"layer_width", w.layer_width},
                {"carriers", w.carriers},
                {"bits_per_carrier", w.bits_per_carrier()},
                {"total_bits", w.total_bits()},
                {"triggers", w.triggers.size(0)},
                {"base_model_ber", base.ber}};
  }
  if (s.kind == "regions") {
    key.meta["data_digest"] = data.digest;
    key.regions = make_region_key(s.regions, data, uint64_t(s.seed));
    const RegionKey& r = *key.regions;
    torch::Tensor base = predict_labels(model.module, r.inputs);
    return Json{{"settings", region_key_spec_to_json(s.regions)},
                {"regions", r.regions()},
                {"queries", r.size()},
                {"base_model_matches", base.eq(r.targets.index({r.input_regions})).sum().item<int64_t>()}};
  }
  key.blackbox =
      make_blackbox_candidates(s.blackbox, model.module, shape, classes, uint64_t(s.seed));
  const BlackboxKey& b = *key.blackbox;
  return Json{{"stage", b.stage},
              {"candidates", b.size()},
              {"keys_wanted", b.keys_wanted},
              {"source", s.blackbox.source},
              {"base_model_wrong", b.base_predictions.ne(b.labels).sum().item<int64_t>()}};
}

// Signs (with an owner) and writes the key, then its commitment; the report's output entries.
void write_owner_key(const KeygenJob& job, const std::optional<OwnerIdentity>& owner, OwnerKey& key,
                     Json& report) {
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
  if (key.signature)
    report["signature"] =
        Json{{"public_key", key.signature->public_key}, {"created", key.signature->created}};
  report["outputs"]["key"] = file_entry(job.out_path);
  report["outputs"]["key"]["content_sha256"] = key.sha256;
}

}  // namespace

std::vector<std::string> KeygenJobResult::summary() const {
  std::vector<std::string> lines = part_summary();
  if (fields.contains("outputs") && fields["outputs"].contains("loss")) {
    lines.push_back(fmt::format("white-box loss for your training loop: {}",
                                fields["outputs"]["loss"]["path"].get<std::string>()));
  }
  return lines;
}

std::vector<std::string> KeygenJobResult::part_summary() const {
  if (kind == "loss") return {};
  if (kind == "whitebox") {
    const Json& w = fields["whitebox"];
    return {fmt::format("key: {} (layer {}, {} bits, {} triggers; base model BER {:.3f})", key_path,
                        w["layer"].get<std::string>(), w["total_bits"].get<int64_t>(),
                        w["triggers"].get<int64_t>(), w["base_model_ber"].get<double>())};
  }
  if (kind == "regions") {
    const Json& r = fields["regions"];
    return {fmt::format("key: {} ({} keyed regions, {} verification queries; the unmarked model "
                        "answers {} on the targets)",
                        key_path, r["regions"].get<int64_t>(), r["queries"].get<int64_t>(),
                        r["base_model_matches"].get<int64_t>())};
  }
  const Json& b = fields["blackbox"];
  return {fmt::format("key: {} ({} black-box candidates, {} keys wanted)", key_path,
                      b["candidates"].get<int64_t>(), b["keys_wanted"].get<int64_t>())};
}

KeygenJobResult run_export_loss_job(const KeygenJob& job) {
  return run_job("ds-gen-keys", job.report_path, [&] {
    require_distinct(job.extend_path, job.export_loss_path);
    require_distinct(job.model_path, job.export_loss_path);
    OwnerKey key = read_key(job.extend_path);
    set_threads(1);
    LoadedModel model = load_model(job.model_path);
    KeygenJobResult out;
    out.key_path = job.extend_path;
    out.kind = "loss";
    out.fields["kind"] = "loss";
    out.fields["inputs"] = Json{{"key", file_entry(job.extend_path)},
                                {"model", {{"path", job.model_path}, {"sha256", model.sha256}}}};
    out.fields["outputs"]["loss"] = write_whitebox_loss(key, job.extend_path, model,
                                                        job.embed_config_path,
                                                        job.export_loss_path);
    out.outputs = {job.export_loss_path};
    return out;
  });
}

KeygenJobResult run_keygen_job(const KeygenJob& job) {
  if (!job.commitment_path.empty() && job.owner_path.empty()) {
    throw InputError("--commitment needs --owner: only a signed key can be committed");
  }
  std::optional<OwnerIdentity> owner;
  if (!job.owner_path.empty()) owner = read_owner_secret(job.owner_path);
  return run_job("ds-gen-keys", job.report_path, [&] {
    KeygenSettings s = read_keygen_config(job.config_path);
    set_threads(s.threads);
    require_distinct(job.model_path, job.out_path);
    if (!job.extend_path.empty()) require_distinct(job.extend_path, job.out_path);
    LoadedModel model = load_model(job.model_path);
    OwnerKey key = starting_key(job, s.kind);
    KeygenJobResult out;
    out.key_path = job.out_path;
    out.kind = s.kind;
    Json& report = out.fields;
    report["kind"] = s.kind;
    report["inputs"] = Json{{"config", file_entry(job.config_path)},
                            {"model", {{"path", job.model_path}, {"sha256", model.sha256}}}};
    if (!job.extend_path.empty()) report["inputs"]["extended_key"] = file_entry(job.extend_path);
    std::vector<int64_t> shape = s.needs_data ? std::vector<int64_t>{} : model.input_shape();
    int64_t classes = s.needs_data ? 0 : model.num_classes();
    DataSplits data;
    if (s.needs_data) {
      data = load_data(s.data);
      shape = data.train.sample_shape();
      classes = data.train.num_classes;
      report["inputs"]["data"] = data_inputs_to_json(data);
    }
    if (!model.info.empty() && model.input_shape() != shape) {
      fail_input(job.model_path, "model input shape " + Json(model.input_shape()).dump() +
                                     " differs from the data's " + Json(shape).dump());
    }
    fit_key_to_data(job, shape, classes, key);
    key.meta[s.kind + "_seed"] = s.seed;
    key.meta[s.kind + "_base_model_sha256"] = model.sha256;
    report[s.kind] = make_key_part(s, model, data, shape, classes, key);
    write_owner_key(job, owner, key, report);
    out.outputs = {job.out_path};
    if (!job.export_loss_path.empty()) {
      try {
        report["outputs"]["loss"] =
            write_whitebox_loss(key, job.out_path, model, job.embed_config_path,
                                job.export_loss_path);
      } catch (...) {
        std::remove(job.out_path.c_str());
        if (!job.commitment_path.empty()) std::remove(job.commitment_path.c_str());
        throw;
      }
      out.outputs.push_back(job.export_loss_path);
    }
    report["seed"] = s.seed;
    return out;
  });
}

}  // namespace ds
