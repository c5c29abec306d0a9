// Embedding job: validates model, key and data against each other, embeds, writes outputs.
#include "embed_job.h"

#include <cmath>
#include <cstdio>
#include <numeric>
#include <optional>

#include "data.h"
#include "distributed.h"
#include "errors.h"
#include "files.h"
#include "keys.h"
#include "model_io.h"
#include "report.h"
#include "runtime.h"
#include "signing.h"
#include "whitebox.h"
#include "blackbox.h"
#include "zoo.h"

namespace ds {

namespace {

// Loads model, key and data and checks that they fit each other.
struct EmbedInputs {
  LoadedModel model;
  OwnerKey key;
  DataSplits data;
};

EmbedInputs load_embed_inputs(const EmbedJob& job, const DataSpec& data_spec) {
  require_distinct(job.model_path, job.out_path);
  EmbedInputs in;
  in.model = load_model(job.model_path);
  in.key = read_key(job.key_path);
  if (!in.model.info.empty() && in.model.input_shape() != in.key.input_shape) {
    fail_input(job.key_path, "key was made for inputs " + Json(in.key.input_shape).dump() +
                                 ", the model takes " + Json(in.model.input_shape()).dump());
  }
  in.data = load_data(data_spec);
  if (in.data.train.sample_shape() != in.key.input_shape ||
      in.data.train.num_classes != in.key.num_classes) {
    fail_input(data_spec.path, "data does not match the key's input shape and classes");
  }
  return in;
}

// Writes the marked model and, when `keys_out_path` is set, the owner's final key: both or
// neither.
void save_model_and_key(const torch::jit::Module& module, const Json& info,
                        const std::string& out_path, OwnerKey& key,
                        const std::string& keys_out_path, const std::string& commitment_path = "") {
  save_model(module, info, out_path);
  if (keys_out_path.empty()) return;
  try {
    write_key(key, keys_out_path);
    if (!commitment_path.empty()) {
      write_file_atomically(commitment_path, make_commitment(key, keys_out_path).dump(1) + "\n");
    }
  } catch (...) {
    std::remove(out_path.c_str());
    std::remove(keys_out_path.c_str());
    throw;
  }
}

// The owner's identity when the job signs its final key; checks the flags before any work.
std::optional<OwnerIdentity> owner_for(const EmbedJob& job) {
  if (!job.commitment_path.empty() && (job.owner_path.empty() || job.keys_out_path.empty())) {
    throw InputError("--commitment needs --owner and --keys-out: only a signed key can be committed");
  }
  if (job.owner_path.empty()) return std::nullopt;
  return read_owner_secret(job.owner_path);
}

Json run_blackbox_embed(const EmbedJob& job, const Json& json) {
  Stopwatch total;
  BlackboxEmbedConfig config = parse_blackbox_embed_config(json, job.config_path);
  if (job.keys_out_path.empty()) throw InputError("black-box embedding needs --keys-out");
  require_distinct(job.key_path, job.keys_out_path);
  std::optional<OwnerIdentity> owner = owner_for(job);
  set_threads(config.threads);
  EmbedInputs in = load_embed_inputs(job, config.data);
  if (!in.key.blackbox || in.key.blackbox->stage != "candidates") {
    fail_input(job.key_path, "key has no black-box candidates (make them with ds-gen-keys)");
  }
  BlackboxEmbedResult r = embed_blackbox(in.model.module, *in.key.blackbox, in.key.input_shape,
                                         in.key.num_classes, in.data, config);
  OwnerKey final_key = in.key;
  final_key.blackbox = r.final_key;

  final_key.meta["blackbox_rounds"] = r.rounds;
  agree_ok();
  if (!is_writer()) return Json{{"kind", "blackbox"}};
  final_key.signature.reset();  // the final key holds other keys than the candidates
  if (owner) sign_key(final_key, *owner);
  save_model_and_key(in.model.module, in.model.info, job.out_path, final_key, job.keys_out_path,
                     job.commitment_path);

  Json report = report_header("ds-embed-wm");
  report["kind"] = "blackbox";
  report["config"] = blackbox_embed_config_to_json(config);
  report["inputs"] = Json{{"config", file_entry(job.config_path)},
                          {"model", {{"path", job.model_path}, {"sha256", in.model.sha256}}},
                          {"key", file_entry(job.key_path)},
                          {"data", {{"digest", in.data.digest}}}};
  report["outputs"]["model"] = file_entry(job.out_path);
  report["outputs"]["key"] = file_entry(job.keys_out_path);
  report["outputs"]["key"]["content_sha256"] = final_key.sha256;
  Json epochs = Json::array();
  for (const auto& e : r.epoch_stats) epochs.push_back(epoch_stats_to_json(e));
  report["epochs"] = epochs;
  report["rounds"] = r.rounds;
  report["candidates_drawn"] = r.candidates_drawn;
  report["keys"] = r.final_key.size();
  report["key_accuracy"] = r.key_accuracy;
  report["test_accuracy_before"] = r.accuracy_before;
  report["test_accuracy"] = r.accuracy_after;
  report["accuracy_drop"] = r.accuracy_before - r.accuracy_after;
  report["timings"] = Json{{"embed_seconds", r.seconds}, {"total_seconds", total.seconds()}};
  report["peak_rss_mib"] = peak_rss_mib();
  write_report_or_remove(job.report_path, report, {job.out_path, job.keys_out_path});
  return report;
}

Json run_whitebox_embed(const EmbedJob& job, const Json& json) {
  Stopwatch total;
  WhiteboxEmbedConfig config = parse_whitebox_embed_config(json, job.config_path);
  set_threads(config.threads);
  if (!job.keys_out_path.empty()) require_distinct(job.key_path, job.keys_out_path);
  std::optional<OwnerIdentity> owner = owner_for(job);
  EmbedInputs in = load_embed_inputs(job, config.data);
  LoadedModel& model = in.model;
  OwnerKey& key = in.key;
  DataSplits& data = in.data;
  if (!key.whitebox) fail_input(job.key_path, "key has no white-box part");

  if (config.from_scratch) {
    if (!model.info.contains("arch")) {
      fail_input(job.model_path, "from_scratch needs a zoo model (it records its architecture)");
    }
    InputSpec input{model.input_shape(), model.num_classes(),
                    model.info["normalization"]["mean"].get<std::vector<double>>(),
                    model.info["normalization"]["std"].get<std::vector<double>>()};
    ArchSpec arch = parse_arch_spec(ConfigObject(model.info["arch"], job.model_path, "arch"));
    model.module = build_model(arch, input, mix_seed(config.seed, 1));
  }

  WhiteboxEmbedResult r = embed_whitebox(model.module, job.model_path, *key.whitebox, data, config);
  // The marked model keeps the input's description untouched: nothing in the file says it
  // carries a watermark.
  // The owner's final key is the key as made: its reference profile stays that of the
  // unmarked base model (see realign.h for why it must).
  OwnerKey final_key = key;
  agree_ok();
  if (!is_writer()) return Json{{"kind", "whitebox"}};
  if (owner) sign_key(final_key, *owner);  // unchanged content: an existing signature stays valid
  save_model_and_key(model.module, model.info, job.out_path, final_key, job.keys_out_path,
                     job.commitment_path);

  Json report = report_header("ds-embed-wm");
  report["kind"] = "whitebox";
  report["config"] = whitebox_embed_config_to_json(config);
  report["inputs"] = Json{{"config", file_entry(job.config_path)},
                          {"model", {{"path", job.model_path}, {"sha256", model.sha256}}},
                          {"key", file_entry(job.key_path)},
                          {"data", {{"digest", data.digest}}}};
  report["inputs"]["key"]["content_sha256"] = key.sha256;
  report["outputs"]["model"] = file_entry(job.out_path);
  if (!job.keys_out_path.empty()) {
    report["outputs"]["key"] = file_entry(job.keys_out_path);
    report["outputs"]["key"]["content_sha256"] = final_key.sha256;
  }
  Json epochs = Json::array();
  double embed_seconds = 0;
  for (size_t i = 0; i < r.epoch_stats.size(); ++i) {
    Json e = epoch_stats_to_json(r.epoch_stats[i]);
    e["ber"] = r.epoch_ber[i];
    epochs.push_back(e);
    embed_seconds += r.epoch_stats[i].seconds;
  }
  double per_epoch = embed_seconds / double(std::max<size_t>(1, r.epoch_stats.size()));
  report["epochs"] = epochs;
  report["epochs_run"] = r.epochs;
  report["stop_reason"] = r.stop_reason;
  report["test_accuracy_before"] = r.accuracy_before;
  report["test_accuracy"] = r.accuracy_after;
  report["accuracy_drop"] = r.accuracy_before - r.accuracy_after;
  if (r.accuracy_before_hardening >= 0) {
    report["test_accuracy_before_hardening"] = r.accuracy_before_hardening;
  }
  report["ber_before"] = r.ber_before;
  report["ber"] = r.ber_after;
  const WhiteboxKey& wk = *key.whitebox;
  report["watermark"] = Json{{"layer", wk.layer},
                             {"layer_width", wk.layer_width},
                             {"carriers", wk.carriers},
                             {"bits_per_carrier", wk.bits_per_carrier()},
                             {"bits", wk.total_bits()}};
  report["timings"] = Json{{"embed_epoch_seconds", per_epoch},
                           {"centre_init_seconds", r.centre_init_seconds},
                           {"total_seconds", total.seconds()}};
  if (r.plain_step_seconds > 0) {
    // Per-epoch equivalents of the interleaved step medians, and their ratio.
    const double steps_per_epoch =
        std::ceil(double(data.train.size()) / double(config.batch_size));
    report["timings"]["plain_step_seconds"] = r.plain_step_seconds;
    report["timings"]["embed_step_seconds"] = r.embed_step_seconds;
    report["timings"]["timed_steps"] = r.timed_steps;
    report["timings"]["plain_epoch_seconds"] = r.plain_step_seconds * steps_per_epoch;
    report["timings"]["embed_overhead"] = r.embed_step_seconds / r.plain_step_seconds - 1.0;
  }
  report["peak_rss_mib"] = peak_rss_mib();
  std::vector<std::string> outputs = {job.out_path};
  if (!job.keys_out_path.empty()) outputs.push_back(job.keys_out_path);
  write_report_or_remove(job.report_path, report, outputs);
  return report;
}

}  // namespace

Json run_embed_job(const EmbedJob& job) {
  Json json = read_json_file(job.config_path);
  if (!json.is_object()) fail_input(job.config_path, "top level must be an object");
  const Json kind = json.value("kind", Json("whitebox"));
  if (kind == "blackbox") return run_blackbox_embed(job, json);
  if (kind == "whitebox") {
    Json rest = json;
    rest.erase("kind");
    return run_whitebox_embed(job, rest);
  }
  fail_input(job.config_path, "field 'kind' must be one of whitebox, blackbox");
}

}  // namespace ds
