// ds-train's job, kept out of the tool so tests can call it in-process.
#include "jobs/train_job.h"

#include <cstdio>

#include "core/report.h"
#include "core/runtime.h"
#include "model/distributed.h"
#include "model/model_io.h"

namespace ds {

Json describe_model(const ArchSpec& arch, const InputSpec& input, torch::jit::Module& model) {
  Json taps = Json::array();
  for (const TapInfo& t : list_taps(model, input.shape)) {
    taps.push_back(Json{{"name", t.name}, {"shape", t.shape}, {"width", t.width}});
  }
  return Json{{"format", "deepsigns-model"},
              {"format_version", 1},
              {"arch", arch_spec_to_json(arch)},
              {"input_shape", input.shape},
              {"num_classes", input.num_classes},
              {"normalization", {{"mean", input.mean}, {"std", input.std}}},
              {"taps", taps},
              {"provenance", Json::array()}};
}

std::vector<std::string> TrainJobResult::summary() const {
  return {fmt::format("model: {}  test accuracy {:.4f}", model_path, test_accuracy)};
}

TrainJobResult run_train_job(const TrainJob& job) {
  set_threads(job.config.threads);
  return run_job("ds-train", job.report_path, [&] {
    TrainJobResult out;
    Json& report = out.fields;
    report["config"] = train_config_to_json(job.config);
    if (!job.config_path.empty()) report["inputs"]["config"] = file_entry(job.config_path);

    Stopwatch load_clock;
    DataSplits data = load_data(job.config.data, true);
    double load_seconds = load_clock.seconds();
    spdlog::info("data: {} train / {} test samples of shape {} from {} ({:.1f} s)",
                 data.train.size(), data.test.size(), Json(data.train.sample_shape()).dump(),
                 job.config.data.path, load_seconds);
    report["inputs"]["data"] = data_inputs_to_json(data);

    TrainResult r = train_model(job.config, data);
    agree_ok();  // every rank finished: only now does the writer save
    out.write_report = is_writer();
    if (!out.write_report) return out;

    Json info = describe_model(job.config.arch, r.input, r.model);
    if (!r.starting_model.empty()) report["inputs"]["model"] = r.starting_model;
    info["provenance"].push_back(Json{{"tool", "ds-train"},
                                      {"version", tool_version()},
                                      {"config", report["config"]},
                                      {"dataset_digest", data.digest},
                                      {"test_accuracy", r.test_accuracy}});
    save_model(r.model, info, job.out_path);
    out.outputs = {job.out_path};
    out.model_path = job.out_path;
    out.test_accuracy = r.test_accuracy;

    Json epochs = Json::array();
    for (const auto& e : r.epochs) epochs.push_back(epoch_stats_to_json(e));
    report["outputs"]["model"] = file_entry(job.out_path);
    report["epochs"] = epochs;
    report["test_accuracy"] = r.test_accuracy;
    report["train_samples"] = data.train.size();
    report["test_samples"] = data.test.size();
    report["timings"] = Json{{"load_seconds", load_seconds}, {"train_seconds", r.train_seconds}};
    return out;
  });
}

}  // namespace ds
