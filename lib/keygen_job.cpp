// Key generation job: reads the config, the base model and the owner's data, writes the key.
#include "keygen_job.h"

#include "data.h"
#include "errors.h"
#include "files.h"
#include "keys.h"
#include "model_io.h"
#include "report.h"
#include "runtime.h"
#include "whitebox.h"

namespace ds {

Json run_keygen_job(const KeygenJob& job) {
  Stopwatch total;
  Json json = read_json_file(job.config_path);
  ConfigObject root(json, job.config_path);
  std::string kind = root.get_choice("kind", "whitebox", {"whitebox"});
  int64_t seed = root.get_int("seed", -1);
  if (seed < 0) root.fail("seed", "is required (a non-negative integer): it fixes the key");
  DataSpec data_spec = parse_data_spec(root.get_object("data"));
  WhiteboxKeySpec wb = parse_whitebox_key_spec(root.get_object("whitebox"));
  int threads = int(root.get_positive_int("threads", 1));
  root.finish();
  set_threads(threads);
  require_distinct(job.model_path, job.out_path);

  LoadedModel model = load_model(job.model_path);
  DataSplits data = load_data(data_spec);
  std::vector<int64_t> shape = data.train.sample_shape();
  if (!model.info.empty() && model.input_shape() != shape) {
    fail_input(job.model_path, "model input shape " + Json(model.input_shape()).dump() +
                                   " differs from the data's " + Json(shape).dump());
  }

  OwnerKey key;
  key.input_shape = shape;
  key.num_classes = data.train.num_classes;
  key.meta = Json{{"created_by", "ds-gen-keys"},
                  {"version", tool_version()},
                  {"seed", seed},
                  {"base_model_sha256", model.sha256},
                  {"data_digest", data.digest}};
  key.whitebox = make_whitebox_key(wb, model.module, job.model_path, shape, data.train,
                                   uint64_t(seed), key.meta);
  WhiteboxExtraction base = extract_whitebox(model.module, *key.whitebox, job.model_path);
  write_key(key, job.out_path);

  Json report = report_header("ds-gen-keys");
  report["kind"] = kind;
  report["inputs"] = Json{{"config", file_entry(job.config_path)},
                          {"model", {{"path", job.model_path}, {"sha256", model.sha256}}},
                          {"data", {{"digest", data.digest}, {"files", data.files}}}};
  report["outputs"]["key"] = file_entry(job.out_path);
  report["outputs"]["key"]["content_sha256"] = key.sha256;
  const WhiteboxKey& w = *key.whitebox;
  report["whitebox"] = Json{{"layer", w.layer},
                            {"layer_width", w.layer_width},
                            {"carriers", w.carriers},
                            {"bits_per_carrier", w.bits_per_carrier()},
                            {"total_bits", w.total_bits()},
                            {"triggers", w.triggers.size(0)},
                            {"base_model_ber", base.ber}};
  report["seed"] = seed;
  report["timings"] = Json{{"total_seconds", total.seconds()}};
  report["peak_rss_mib"] = peak_rss_mib();
  if (!job.report_path.empty()) write_report(job.report_path, report);
  return report;
}

}  // namespace ds
