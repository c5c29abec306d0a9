// The whole ds-train job: load the data, train, save the model with its description, and write
// the report. Tools call this once.
#pragma once

#include <string>

#include "config.h"
#include "train.h"

namespace ds {

struct TrainJob {
  TrainConfig config;
  std::string config_path;  // recorded in the report with its SHA-256
  std::string out_path;     // the TorchScript model to write
  std::string report_path;  // optional JSON report
};

// Returns the report (also written to job.report_path when set).
Json run_train_job(const TrainJob& job);

// The description stored inside a zoo model (see model_io.h).
Json describe_model(const ArchSpec& arch, const InputSpec& input, torch::jit::Module& model);

}  // namespace ds
