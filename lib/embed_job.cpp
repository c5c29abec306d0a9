// Embedding job: validates model, key and data against each other, embeds, writes outputs.
#include "embed_job.h"

#include <cstdio>
#include <numeric>

#include "data.h"
#include "errors.h"
#include "files.h"
#include "keys.h"
#include "model_io.h"
#include "report.h"
#include "runtime.h"
#include "whitebox.h"
#include "zoo.h"

namespace ds {

Json run_embed_job(const EmbedJob& job) {
  Stopwatch total;
  WhiteboxEmbedConfig config =
      parse_whitebox_embed_config(read_json_file(job.config_path), job.config_path);
  set_threads(config.threads);
  require_distinct(job.model_path, job.out_path);
  LoadedModel model = load_model(job.model_path);
  OwnerKey key = read_key(job.key_path);
  if (!key.whitebox) fail_input(job.key_path, "key has no white-box part");
  if (!model.info.empty() && model.input_shape() != key.input_shape) {
    fail_input(job.key_path, "key was made for inputs " + Json(key.input_shape).dump() +
                                 ", the model takes " + Json(model.input_shape()).dump());
  }
  DataSplits data = load_data(config.data);
  if (data.train.sample_shape() != key.input_shape || data.train.num_classes != key.num_classes) {
    fail_input(config.data.path, "data does not match the key's input shape and classes");
  }
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
  save_model(model.module, model.info, job.out_path);

  Json report = report_header("ds-embed-wm");
  report["kind"] = "whitebox";
  report["config"] = whitebox_embed_config_to_json(config);
  report["inputs"] = Json{{"config", file_entry(job.config_path)},
                          {"model", {{"path", job.model_path}, {"sha256", model.sha256}}},
                          {"key", file_entry(job.key_path)},
                          {"data", {{"digest", data.digest}}}};
  report["inputs"]["key"]["content_sha256"] = key.sha256;
  report["outputs"]["model"] = file_entry(job.out_path);
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
  report["ber_before"] = r.ber_before;
  report["ber"] = r.ber_after;
  report["timings"] = Json{{"embed_epoch_seconds", per_epoch},
                           {"centre_init_seconds", r.centre_init_seconds},
                           {"total_seconds", total.seconds()}};
  if (r.plain_epoch_seconds > 0) {
    report["timings"]["plain_epoch_seconds"] = r.plain_epoch_seconds;
    report["timings"]["embed_overhead"] = per_epoch / r.plain_epoch_seconds - 1.0;
  }
  report["peak_rss_mib"] = peak_rss_mib();
  if (!job.report_path.empty()) {
    try {
      write_report(job.report_path, report);
    } catch (...) {
      std::remove(job.out_path.c_str());
      throw;
    }
  }
  return report;
}

}  // namespace ds
