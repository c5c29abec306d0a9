// ds-gen-keys: make an owner's watermark key for a base model.
#include "keygen_job.h"
#include "tool.h"

int main(int argc, char** argv) {
  ds::KeygenJob job;
  return ds::run_tool(
      argc, argv, "ds-gen-keys", "Make an owner's watermark key for a base model.",
      [&](CLI::App& app) {
        app.add_option("--config", job.config_path, "JSON key config")->required();
        app.add_option("--model", job.model_path, "Base model (.pt)")->required();
        app.add_option("--out", job.out_path, "Key file to write")->required();
        app.add_option("--keys", job.extend_path,
                       "Existing key to extend with this part (one key, both watermarks)");
        app.add_option("--report", job.report_path, "JSON report to write");
      },
      [&] {
        ds::Json r = ds::run_keygen_job(job);
        if (r.contains("whitebox")) {
          spdlog::info("key: {} (layer {}, {} bits, {} triggers; base model BER {:.3f})",
                       job.out_path, r["whitebox"]["layer"].get<std::string>(),
                       r["whitebox"]["total_bits"].get<int64_t>(),
                       r["whitebox"]["triggers"].get<int64_t>(),
                       r["whitebox"]["base_model_ber"].get<double>());
        } else {
          spdlog::info("key: {} ({} black-box candidates, {} keys wanted)", job.out_path,
                       r["blackbox"]["candidates"].get<int64_t>(),
                       r["blackbox"]["keys_wanted"].get<int64_t>());
        }
        return ds::kExitOk;
      });
}
