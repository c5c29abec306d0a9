// ds-train: train a base model from a JSON config and write it as TorchScript.
#include <optional>

#include "core/blas_kernels.h"
#include "core/config.h"
#include "core/tool.h"
#include "jobs/train_job.h"
#include "model/distributed.h"

int main(int argc, char** argv) {
  std::string config_path, out_path, report_path, data_path;
  std::optional<int64_t> seed, epochs, threads, batch_size;
  std::optional<double> lr, train_fraction;
  ds::DistributedSpec dist;
  std::string master;
  return ds::run_tool(
      argc, argv, "ds-train", "Train a base model and save it as TorchScript.",
      [&](CLI::App& app) {
        app.add_option("--config", config_path, "JSON training config")->required();
        app.add_option("--out", out_path, "Model file to write (.pt)")->required();
        app.add_option("--report", report_path, "JSON report to write");
        app.add_option("--seed", seed, "Override the config's seed");
        app.add_option("--epochs", epochs, "Override the config's epochs");
        app.add_option("--threads", threads, "Override the config's thread count");
        app.add_option("--batch-size", batch_size, "Override the config's batch size");
        app.add_option("--lr", lr, "Override the optimizer's learning rate");
        app.add_option("--data-path", data_path, "Override the dataset path");
        app.add_option("--train-fraction", train_fraction, "Override data.train_fraction");
        ds::add_distributed_options(app, dist, master);
      },
      [&] {
        ds::use_fast_blas_kernels(argv);  // training: worth a restart
        ds::Json json = ds::read_json_file(config_path);
        // Flags override config fields; they go through the same validation as the file.
        if (seed) json["seed"] = *seed;
        if (epochs) json["epochs"] = *epochs;
        if (threads) json["threads"] = *threads;
        if (batch_size) json["batch_size"] = *batch_size;
        if (lr) json["optimizer"]["lr"] = *lr;
        if (!data_path.empty()) json["data"]["path"] = data_path;
        if (train_fraction) json["data"]["train_fraction"] = *train_fraction;
        ds::TrainJob job{ds::parse_train_config(json, config_path), config_path, out_path,
                         report_path};
        ds::init_distributed(ds::resolve_distributed(dist, master));
        ds::TrainJobResult result = ds::run_train_job(job);
        if (!result.write_report) return ds::kExitOk;
        ds::log_summary(result);
        if (!report_path.empty()) spdlog::info("report: {}", report_path);
        return ds::kExitOk;
      });
}
