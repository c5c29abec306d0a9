// ds-embed-wm: embed an owner's watermark into a model.
#include "core/blas_kernels.h"
#include "core/tool.h"
#include "jobs/embed_job.h"
#include "model/distributed.h"

int main(int argc, char** argv) {
  ds::EmbedJob job;
  ds::DistributedSpec dist;
  std::string master;
  return ds::run_tool(
      argc, argv, "ds-embed-wm", "Embed an owner's watermark into a model.",
      [&](CLI::App& app) {
        app.add_option("--config", job.config_path, "JSON embedding config")->required();
        app.add_option("--model", job.model_path, "Model to mark (.pt, not modified)")->required();
        app.add_option("--keys", job.key_path, "Owner's key from ds-gen-keys")->required();
        app.add_option("--out", job.out_path, "Marked model to write")->required();
        app.add_option("--keys-out", job.keys_out_path,
                       "The owner's final key to write (black-box: required, it holds the K "
                       "chosen keys; white-box: a copy of the key)");
        app.add_option("--report", job.report_path, "JSON report to write");
        app.add_option("--owner", job.owner_path, "Owner's secret (ds-gen-keys --init-owner): sign the final key");
        app.add_option("--commitment", job.commitment_path,
                       "Public commitment to write for the signed final key (JSON)");
        ds::add_distributed_options(app, dist, master);
      },
      [&] {
        ds::use_fast_blas_kernels(argv);  // training: worth a restart
        ds::init_distributed(ds::resolve_distributed(dist, master));
        ds::EmbedJobResult r = ds::run_embed_job(job);
        if (r.write_report) ds::log_summary(r);
        return ds::kExitOk;
      });
}
