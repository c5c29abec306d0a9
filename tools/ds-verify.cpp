// ds-verify: prove (exit 0) or fail to prove (exit 1) ownership of a suspect model.
#include "tool.h"
#include "verify_job.h"

int main(int argc, char** argv) {
  ds::VerifyJob job;
  return ds::run_tool(
      argc, argv, "ds-verify",
      "Check a suspect model for the owner's watermark. Exit 0: ownership proven; 1: not "
      "proven; 2: bad input; 3: failure.",
      [&](CLI::App& app) {
        app.add_option("--model", job.model_path, "Suspect model (.pt)")->required();
        app.add_option("--keys", job.key_path, "Owner's key")->required();
        app.add_option("--report", job.report_path, "JSON report to write");
        app.add_option("--alpha", job.alpha,
                       "Largest false-claim probability that proves ownership (default 1e-6)");
      },
      [&] {
        ds::VerifyOutcome out = ds::run_verify_job(job);
        const ds::Json& r = out.report;
        spdlog::info("{}: BER {:.4f}, p-value {:.3g} (alpha {:.3g})",
                     out.verified ? "ownership PROVEN" : "ownership NOT proven",
                     r.value("ber", 1.0), r.value("p_value", 1.0), job.alpha);
        return out.verified ? ds::kExitOk : ds::kExitNotProven;
      });
}
