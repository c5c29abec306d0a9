// ds-attack: attack a (marked) model the way a thief would and report what survives.
#include "attack_job.h"
#include "tool.h"

int main(int argc, char** argv) {
  ds::AttackJob job;
  return ds::run_tool(
      argc, argv, "ds-attack", "Attack a model as a thief would; report accuracy and verification.",
      [&](CLI::App& app) {
        app.add_option("--config", job.config_path, "JSON attack config")->required();
        app.add_option("--model", job.model_path, "Model to attack (.pt, not modified)")->required();
        app.add_option("--out", job.out_path, "Attacked model to write")->required();
        app.add_option("--keys", job.key_path, "Owner's key, only to report verification");
        app.add_option("--report", job.report_path, "JSON report to write");
      },
      [&] {
        ds::Json r = ds::run_attack_job(job);
        if (r.contains("test_accuracy")) {
          spdlog::info("test accuracy {:.4f} -> {:.4f}", r["test_accuracy_before"].get<double>(),
                       r["test_accuracy"].get<double>());
        }
        if (r.contains("verification")) {
          spdlog::info("ownership {} after the attack (before: {})",
                       r["verification"]["verified"].get<bool>() ? "still proven" : "NOT proven",
                       r["verification_before"]["verified"].get<bool>() ? "proven" : "not proven");
        }
        spdlog::info("attacked model: {}", job.out_path);
        return ds::kExitOk;
      });
}
