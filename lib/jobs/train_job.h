// The whole ds-train job: load the data, train, save the model with its description, and write
// the report. Tools call this once.
#pragma once

#include <string>
#include <vector>

#include "core/config.h"
#include "core/job.h"
#include "model/train.h"

namespace ds {

struct TrainJob {
  TrainConfig config;
  std::string config_path;  // recorded in the report with its SHA-256
  std::string out_path;     // the TorchScript model to write
  std::string report_path;  // optional JSON report
};

struct TrainJobResult : JobResult {
  std::string model_path;
  double test_accuracy = 0;
  Json fields;  // config, inputs, outputs, epochs, sample counts, load and train timings

  Json to_json() const override { return fields; }
  std::vector<std::string> summary() const override;
};

// Trains, saves the model and writes the report when job.report_path is set.
TrainJobResult run_train_job(const TrainJob& job);

// The description stored inside a zoo model (see model_io.h).
Json describe_model(const ArchSpec& arch, const InputSpec& input, torch::jit::Module& model);

}  // namespace ds
