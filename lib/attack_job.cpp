// Attack job: parse the attack, transform a copy of the model, measure, write.
#include "attack_job.h"

#include <cstdio>

#include "attacks.h"
#include "data.h"
#include "errors.h"
#include "files.h"
#include "keys.h"
#include "model_io.h"
#include "report.h"
#include "runtime.h"
#include "train.h"
#include "verify_job.h"

namespace ds {
namespace {

// The last dense layer that feeds another one (fc2 in the MLP, fc1 in the CNN).
std::string default_dense_layer(const torch::jit::Module& model) {
  std::string last;
  for (int k = 1; k < 64; ++k) {
    try {
      next_dense_layer(model, "fc" + std::to_string(k));
      last = "fc" + std::to_string(k);
    } catch (const InputError&) {
      break;
    }
  }
  if (last.empty()) throw InputError("model has no pair of dense layers fcK -> fcK+1");
  return last;
}

}  // namespace

Json run_attack_job(const AttackJob& job) {
  Stopwatch total;
  Json json = read_json_file(job.config_path);
  ConfigObject root(json, job.config_path);
  std::string kind =
      root.get_choice("attack", "", {"prune", "quantize", "noise", "permute", "scale"});
  uint64_t seed = root.get_seed("seed", 1);
  int threads = int(root.get_positive_int("threads", 1));
  bool with_data = root.has("data");
  DataSpec data_spec;
  if (with_data) data_spec = parse_data_spec(root.get_object("data"));
  double rate = 0, scale = 0, low = 0, high = 0;
  bool global = true, structured = false, per_channel = false;
  int64_t bits = 8;
  std::string layer;
  if (kind == "prune") {
    rate = root.get_fraction("rate", 0.5, true);
    global = root.get_bool("global", true);
    structured = root.get_bool("structured", false);
    if (global && structured) root.fail("structured", "pruning is per layer: set global to false");
  } else if (kind == "quantize") {
    bits = root.get_int("bits", bits);
    if (bits < 1 || bits > 16) root.fail("bits", "must be in 1..16");
    per_channel = root.get_bool("per_channel", false);
  } else if (kind == "noise") {
    scale = root.get_number("scale", 0.1);
    if (scale < 0) root.fail("scale", "must be >= 0");
  } else {
    layer = root.get_string("layer", "");
    if (kind == "scale") {
      low = root.get_number("low", 0.5);
      high = root.get_number("high", 2.0);
      if (!(low > 0 && high >= low)) root.fail("low", "and 'high' must satisfy 0 < low <= high");
    }
  }
  root.finish();
  set_threads(threads);
  require_distinct(job.model_path, job.out_path);

  LoadedModel model = load_model(job.model_path);
  std::optional<OwnerKey> key;
  if (!job.key_path.empty()) key = read_key(job.key_path);
  std::optional<DataSplits> data;
  if (with_data) data = load_data(data_spec);

  torch::jit::Module attacked;
  if (kind == "prune") {
    attacked = prune_magnitude(model.module, rate, global, structured);
  } else if (kind == "quantize") {
    attacked = quantize_weights(model.module, int(bits), per_channel);
  } else if (kind == "noise") {
    attacked = add_weight_noise(model.module, scale, seed);
  } else {
    if (layer.empty()) layer = default_dense_layer(model.module);
    attacked = kind == "permute" ? permute_units(model.module, layer, seed)
                                 : scale_units(model.module, layer, low, high, seed);
  }
  attacked.eval();
  save_model(attacked, model.info, job.out_path);

  Json report = report_header("ds-attack");
  report["attack"] = json;
  if (!layer.empty()) report["attack"]["layer"] = layer;
  report["inputs"] = Json{{"config", file_entry(job.config_path)},
                          {"model", {{"path", job.model_path}, {"sha256", model.sha256}}}};
  report["outputs"]["model"] = file_entry(job.out_path);
  try {
    if (data) {
      report["test_accuracy_before"] = evaluate_accuracy(model.module, data->test, 1000);
      report["test_accuracy"] = evaluate_accuracy(attacked, data->test, 1000);
    }
    if (key) {
      report["inputs"]["key"] = file_entry(job.key_path);
      report["verification_before"] =
          verify_parts(&model.module, job.model_path, *key, {}, kDefaultAlpha);
      try {
        report["verification"] = verify_parts(&attacked, job.out_path, *key, {}, kDefaultAlpha);
      } catch (const InputError& e) {
        // The attack broke extraction itself (for example, the marked layer changed width).
        report["verification"] = Json{{"verified", false}, {"error", e.what()}};
      }
    }
    report["timings"] = Json{{"total_seconds", total.seconds()}};
    if (!job.report_path.empty()) write_report(job.report_path, report);
  } catch (...) {
    std::remove(job.out_path.c_str());
    throw;
  }
  return report;
}

}  // namespace ds
