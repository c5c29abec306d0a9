// Embedding job: validates model, key and data against each other, embeds, writes outputs.
#include "jobs/embed_job.h"

#include <cmath>
#include <cstdio>
#include <numeric>
#include <optional>
#include <tuple>

#include "core/errors.h"
#include "core/files.h"
#include "core/job.h"
#include "core/report.h"
#include "core/runtime.h"
#include "data/data_spec.h"
#include "model/distributed.h"
#include "model/model_io.h"
#include "model/train.h"
#include "model/zoo.h"
#include "watermark/blackbox.h"
#include "watermark/key_file.h"
#include "watermark/region_embed.h"
#include "watermark/region_guard.h"
#include "watermark/region_key.h"
#include "watermark/signing.h"
#include "watermark/whitebox_embed.h"
#include "watermark/whitebox_extract.h"
#include "watermark/whitebox_key.h"

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
    throw InputError(
        "--commitment needs --owner and --keys-out: only a signed key can be committed");
  }
  if (job.owner_path.empty()) return std::nullopt;
  return read_owner_secret(job.owner_path);
}

EmbedJobResult run_blackbox_embed(const EmbedJob& job, const Json& json) {
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
  EmbedJobResult out;
  out.kind = "blackbox";
  out.write_report = is_writer();
  if (!out.write_report) return out;
  final_key.signature.reset();  // the final key holds other keys than the candidates
  if (owner) sign_key(final_key, *owner);
  save_model_and_key(in.model.module, in.model.info, job.out_path, final_key, job.keys_out_path,
                     job.commitment_path);

  out.outputs = {job.out_path, job.keys_out_path};
  out.model_path = job.out_path;
  out.keys_path = job.keys_out_path;
  Json& report = out.fields;
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
  report["timings"] = Json{{"embed_seconds", r.seconds}};
  return out;
}

// The white-box embedding's report fields.
Json whitebox_report(const EmbedJob& job, const WhiteboxEmbedConfig& config, const EmbedInputs& in,
                     const OwnerKey& final_key, const WhiteboxEmbedResult& r) {
  const LoadedModel& model = in.model;
  const OwnerKey& key = in.key;
  const DataSplits& data = in.data;
  Json report = Json::object();
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
  report["timings"] =
      Json{{"embed_epoch_seconds", per_epoch}, {"centre_init_seconds", r.centre_init_seconds}};
  if (r.plain_step_seconds > 0) {
    // Per-epoch equivalents of the interleaved step medians, and their ratio.
    const double steps_per_epoch = std::ceil(double(data.train.size()) / double(config.batch_size));
    report["timings"]["plain_step_seconds"] = r.plain_step_seconds;
    report["timings"]["embed_step_seconds"] = r.embed_step_seconds;
    report["timings"]["timed_steps"] = r.timed_steps;
    report["timings"]["plain_epoch_seconds"] = r.plain_step_seconds * steps_per_epoch;
    report["timings"]["embed_overhead"] = r.embed_step_seconds / r.plain_step_seconds - 1.0;
  }
  return report;
}

EmbedJobResult run_whitebox_embed(const EmbedJob& job, const Json& json) {
  WhiteboxEmbedConfig config = parse_whitebox_embed_config(json, job.config_path);
  // Choices that only the exported loss makes (training from scratch in the user's own loop).
  for (const auto& [field, value, own] :
       {std::tuple<const char*, std::string, const char*>{"activation_scale",
                                                          config.activation_scale, "initial"},
        {"payload_on", config.payload_on, "centres"}}) {
    if (value != own) {
      fail_input(job.config_path, std::string("whitebox.") + field + " '" + value +
                                      "' is for the exported loss (ds-gen-keys --export-loss); "
                                      "ds-embed-wm uses '" + own + "'");
    }
  }
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
  EmbedJobResult out;
  out.kind = "whitebox";
  out.write_report = is_writer();
  if (!out.write_report) return out;
  if (owner) sign_key(final_key, *owner);  // unchanged content: an existing signature stays valid
  save_model_and_key(model.module, model.info, job.out_path, final_key, job.keys_out_path,
                     job.commitment_path);

  out.outputs = {job.out_path};
  if (!job.keys_out_path.empty()) out.outputs.push_back(job.keys_out_path);
  out.model_path = job.out_path;
  out.keys_path = job.keys_out_path;
  out.fields = whitebox_report(job, config, in, final_key, r);
  return out;
}

// The keyed-region part: optionally trained into the weights ("train"), then wrapped in the
// guard that serves it exactly ("guard", on unless false). The report gives the accuracy each
// step costs on the test split.
EmbedJobResult run_regions_embed(const EmbedJob& job, const Json& json) {
  ConfigObject root(json, job.config_path);
  root.get_choice("kind", "regions", {"regions"});
  DataSpec data_spec = parse_data_spec(root.get_object("data"));
  std::optional<RegionTrainConfig> train;
  if (root.has("train")) train = parse_region_train_config(root.get_object("train"));
  bool guard = root.get_bool("guard", true);
  int threads = int(root.get_positive_int("threads", 1));
  root.finish();
  if (!train && !guard) root.fail("guard", "can be false only with a 'train' object");
  if (!job.keys_out_path.empty() || !job.owner_path.empty() || !job.commitment_path.empty()) {
    throw InputError("keyed regions change no key: drop --keys-out, --owner and --commitment");
  }
  set_threads(threads);
  EmbedInputs in = load_embed_inputs(job, data_spec);
  if (!in.key.regions) fail_input(job.key_path, "key has no keyed-region part");
  if (is_guarded(in.model.module)) fail_input(job.model_path, "model is already guarded");
  const RegionKey& key = *in.key.regions;
  Json fields{{"kind", "regions"}, {"guard", guard}};
  fields["test_accuracy_before"] = evaluate_accuracy(in.model.module, in.data.test, 1000);
  if (train) {
    Dataset keep;  // the owner's black-box keys stay answered
    if (in.key.blackbox && in.key.blackbox->stage == "final") {
      keep.images = in.key.blackbox->inputs;
      keep.labels = in.key.blackbox->labels;
      keep.num_classes = in.key.num_classes;
    }
    RegionTrainResult r = train_regions(in.model.module, key, in.data, *train, keep);
    Json epochs = Json::array();
    for (const auto& e : r.epochs) epochs.push_back(epoch_stats_to_json(e));
    fields["train"] = Json{{"config", region_train_config_to_json(*train)},
                           {"epochs", epochs},
                           {"region_inputs", r.region_inputs},
                           {"region_agreement", r.region_agreement},
                           {"test_accuracy", evaluate_accuracy(in.model.module, in.data.test, 1000)}};
  }
  torch::jit::Module served = guard ? guard_model(in.model.module, key) : in.model.module;
  fields["test_accuracy"] = guard ? Json(evaluate_accuracy(served, in.data.test, 1000))
                                  : fields["train"]["test_accuracy"];
  fields["test_share_in_regions"] =
      region_of(key, in.data.test.images).ge(0).to(torch::kFloat64).mean().item<double>();
  agree_ok();
  EmbedJobResult out;
  out.kind = "regions";
  out.write_report = is_writer();
  if (!out.write_report) return out;
  Json info = in.model.info;
  Json mark{{"key_sha256", in.key.sha256}, {"regions", key.regions()}};
  if (guard) info["guard"] = mark;
  if (train) info["regions_trained"] = mark;
  save_model(served, info, job.out_path);
  out.outputs = {job.out_path};
  out.model_path = job.out_path;
  fields["inputs"] = {{"model", {{"path", job.model_path}, {"sha256", in.model.sha256}}},
                      {"key", file_entry(job.key_path)}};
  fields["outputs"] = {{"model", file_entry(job.out_path)}};
  out.fields = fields;
  return out;
}

}  // namespace

std::vector<std::string> EmbedJobResult::summary() const {
  if (kind == "regions") {
    std::string what = fields["guard"].get<bool>() ? "guarded model" : "marked model";
    if (fields.contains("train")) {
      what += fmt::format(" (regions trained in: agreement {:.3f})",
                          fields["train"]["region_agreement"].get<double>());
    }
    return {fmt::format("{}: {}  test accuracy {:.4f} -> {:.4f} ({:.2f}% of test inputs "
                        "in the regions)",
                        what, model_path, fields["test_accuracy_before"].get<double>(),
                        fields["test_accuracy"].get<double>(),
                        100 * fields["test_share_in_regions"].get<double>())};
  }
  if (kind == "whitebox") {
    return {fmt::format(
        "marked model: {}  BER {:.4f}  test accuracy {:.4f} -> {:.4f} ({})", model_path,
        fields["ber"].get<double>(), fields["test_accuracy_before"].get<double>(),
        fields["test_accuracy"].get<double>(), fields["stop_reason"].get<std::string>())};
  }
  return {fmt::format(
      "marked model: {}  key: {}  key accuracy {:.3f}  test accuracy {:.4f} -> {:.4f}", model_path,
      keys_path, fields["key_accuracy"].get<double>(), fields["test_accuracy_before"].get<double>(),
      fields["test_accuracy"].get<double>())};
}

EmbedJobResult run_embed_job(const EmbedJob& job) {
  Json json = read_json_file(job.config_path);
  if (!json.is_object()) fail_input(job.config_path, "top level must be an object");
  const Json kind = json.value("kind", Json("whitebox"));
  if (kind == "blackbox") {
    return run_job("ds-embed-wm", job.report_path, [&] { return run_blackbox_embed(job, json); });
  }
  if (kind == "whitebox") {
    Json rest = json;
    rest.erase("kind");
    return run_job("ds-embed-wm", job.report_path, [&] { return run_whitebox_embed(job, rest); });
  }
  if (kind == "regions") {
    return run_job("ds-embed-wm", job.report_path, [&] { return run_regions_embed(job, json); });
  }
  fail_input(job.config_path, "field 'kind' must be one of whitebox, blackbox, regions");
}

}  // namespace ds
