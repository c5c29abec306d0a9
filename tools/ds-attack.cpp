// ds-attack: attack a (marked) model the way a thief would and report what survives; with a
// sweep config and --out-dir, run a grid of attacks and tabulate and plot the results.
#include "attack_job.h"
#include "distributed.h"
#include "errors.h"
#include "sweep.h"
#include "tool.h"

int main(int argc, char** argv) {
  ds::AttackJob job;
  std::string out_dir;
  bool no_baseline = false;
  ds::DistributedSpec dist;
  std::string master;
  return ds::run_tool(
      argc, argv, "ds-attack", "Attack a model as a thief would; report accuracy and verification.",
      [&](CLI::App& app) {
        app.add_option("--config", job.config_path, "JSON attack or sweep config")->required();
        app.add_option("--model", job.model_path, "Model to attack (.pt, not modified)")->required();
        auto* out = app.add_option("--out", job.out_path, "Attacked model to write (one attack)");
        auto* dir = app.add_option("--out-dir", out_dir,
                                   "Sweep: folder for results.csv, results.json, plot.svg");
        out->excludes(dir);
        dir->excludes(out);
        app.add_option("--keys", job.key_path, "Owner's key, only to report verification");
        app.add_option("--report", job.report_path, "JSON report to write");
        app.add_flag("--no-baseline", no_baseline,
                     "Do not measure the unattacked model (sweeps measure it once)");
        ds::add_distributed_options(app, dist, master);
      },
      [&] {
        ds::DistributedSpec spec = ds::resolve_distributed(dist, master);
        if (!out_dir.empty() && spec.world_size > 1) {
          throw ds::InputError("sweeps run their points as separate processes; run one attack "
                               "per data-parallel job (--out, not --out-dir)");
        }
        if (!out_dir.empty()) {
          ds::SweepJob sweep{job.config_path, job.model_path, job.key_path, out_dir,
                             job.report_path};
          ds::Json t = ds::run_sweep(sweep);
          spdlog::info("sweep table: {}/results.csv, plot: {}/plot.svg", out_dir, out_dir);
          if (t["failed_points"].get<size_t>() > 0) {
            spdlog::error("{} of {} sweep points failed; their errors are in {}/results.csv",
                          t["failed_points"].get<size_t>(), t["points"].get<size_t>(), out_dir);
            return ds::kExitFailure;
          }
          return ds::kExitOk;
        }
        if (job.out_path.empty()) throw ds::InputError("give --out (one attack) or --out-dir (sweep)");
        job.measure_before = !no_baseline;
        ds::init_distributed(spec);
        ds::Json r = ds::run_attack_job(job);
        if (!ds::is_writer()) return ds::kExitOk;
        if (r.contains("test_accuracy_before")) {
          spdlog::info("test accuracy {:.4f} -> {:.4f}", r["test_accuracy_before"].get<double>(),
                       r["test_accuracy"].get<double>());
        }
        if (r.contains("verification_before")) {
          spdlog::info("ownership {} after the attack (before: {})",
                       r["verification"]["verified"].get<bool>() ? "still proven" : "NOT proven",
                       r["verification_before"]["verified"].get<bool>() ? "proven" : "not proven");
        }
        spdlog::info("attacked model: {}", job.out_path);
        return ds::kExitOk;
      });
}
