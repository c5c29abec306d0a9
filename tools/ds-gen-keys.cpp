// ds-gen-keys: make an owner's watermark key for a base model.
#include "core/errors.h"
#include "core/tool.h"
#include "jobs/keygen_job.h"
#include "watermark/signing.h"

int main(int argc, char** argv) {
  ds::KeygenJob job;
  std::string init_owner;
  return ds::run_tool(
      argc, argv, "ds-gen-keys", "Make an owner's watermark key for a base model.",
      [&](CLI::App& app) {
        app.add_option("--config", job.config_path, "JSON key config (required to make a key)");
        app.add_option("--model", job.model_path, "Base model (.pt) (required to make a key)");
        app.add_option("--out", job.out_path, "Key file to write (required to make a key)");
        app.add_option("--init-owner", init_owner,
                       "Make an owner signing identity instead: writes PATH (secret, 0600) and "
                       "PATH.pub");
        app.add_option("--owner", job.owner_path, "Owner's secret (from --init-owner): sign the key");
        app.add_option("--commitment", job.commitment_path,
                       "Public commitment to write for the signed key (JSON)");
        app.add_option("--keys", job.extend_path,
                       "Existing key to extend with this part (one key, both watermarks)");
        app.add_option("--export-loss", job.export_loss_path,
                       "Also write the white-box embedding loss as TorchScript, for your own "
                       "training loop (with --config: for the new key; without: for --keys)");
        app.add_option("--embed-config", job.embed_config_path,
                       "White-box embedding config the exported loss takes its weights from");
        app.add_option("--report", job.report_path, "JSON report to write");
      },
      [&] {
        if (!init_owner.empty()) {
          ds::init_owner(init_owner);
          spdlog::info("owner identity: {} (secret, keep it private) and {}.pub (public)",
                       init_owner, init_owner);
          return ds::kExitOk;
        }
        if (job.config_path.empty() && !job.export_loss_path.empty()) {
          for (auto [flag, value] :
               {std::pair<const char*, std::string*>{"--keys", &job.extend_path},
                {"--model", &job.model_path},
                {"--embed-config", &job.embed_config_path}}) {
            if (value->empty())
              throw ds::InputError(std::string(flag) + " is required to export a key's loss");
          }
          ds::log_summary(ds::run_export_loss_job(job));
          return ds::kExitOk;
        }
        for (auto [flag, value] : {std::pair<const char*, std::string*>{"--config", &job.config_path},
                                   {"--model", &job.model_path},
                                   {"--out", &job.out_path}}) {
          if (value->empty()) throw ds::InputError(std::string(flag) + " is required to make a key");
        }
        ds::log_summary(ds::run_keygen_job(job));
        return ds::kExitOk;
      });
}
