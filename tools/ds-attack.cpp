// ds-attack: attack a (marked) model the way a thief would and report what survives; with a
// sweep config and --out-dir, run a grid of attacks and tabulate and plot the results.
#include "core/blas_kernels.h"
#include "core/errors.h"
#include "core/tool.h"
#include "jobs/attack_job.h"
#include "jobs/sweep_job.h"
#include "model/distributed.h"

int main(int argc, char** argv) {
  ds::AttackJob job;
  std::string out_dir, sweep_point;
  bool no_baseline = false;
  ds::DistributedSpec dist;
  std::string master;
  return ds::run_tool(
      argc, argv, "ds-attack", "Attack a model as a thief would; report accuracy and verification.",
      [&](CLI::App& app) {
        app.add_option("--config", job.config_path, "JSON attack or sweep config (required)");
        app.add_option("--model", job.model_path, "Model to attack (.pt, not modified; required)");
        auto* out = app.add_option("--out", job.out_path, "Attacked model to write (one attack)");
        auto* dir = app.add_option("--out-dir", out_dir,
                                   "Sweep: folder for results.csv, results.json, plot.svg");
        out->excludes(dir);
        dir->excludes(out);
        app.add_option("--keys", job.key_path, "Owner's key, only to report verification");
        app.add_option("--report", job.report_path, "JSON report to write");
        app.add_flag("--no-baseline", no_baseline,
                     "Do not measure the unattacked model (sweeps measure it once)");
        // A sweep's own child processes (jobs/sweep_job.h); not for users.
        app.add_option(ds::kSweepPointFlag, sweep_point)->group("");
        ds::add_distributed_options(app, dist, master);
      },
      [&] {
        ds::use_fast_blas_kernels(argv);  // training: worth a restart
        if (!sweep_point.empty()) {
          ds::run_sweep_point(sweep_point);
          return ds::kExitOk;
        }
        if (job.config_path.empty()) throw ds::InputError("--config is required");
        if (job.model_path.empty()) throw ds::InputError("--model is required");
        ds::DistributedSpec spec = ds::resolve_distributed(dist, master);
        if (!out_dir.empty() && spec.world_size > 1) {
          throw ds::InputError(
              "sweeps run their points as separate processes; run one attack "
              "per data-parallel job (--out, not --out-dir)");
        }
        if (!out_dir.empty()) {
          ds::SweepResult r = ds::run_sweep(
              {job.config_path, job.model_path, job.key_path, out_dir, job.report_path});
          ds::log_summary(r);
          return r.failed_points > 0 ? ds::kExitFailure : ds::kExitOk;
        }
        if (job.out_path.empty())
          throw ds::InputError("give --out (one attack) or --out-dir (sweep)");
        job.measure_before = !no_baseline;
        ds::init_distributed(spec);
        ds::AttackJobResult r = ds::run_attack_job(job);
        if (r.write_report) ds::log_summary(r);
        return ds::kExitOk;
      });
}
