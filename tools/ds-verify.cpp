// ds-verify: prove (exit 0) or fail to prove (exit 1) ownership of a suspect model.
#include "core/tool.h"
#include "jobs/verify_job.h"

int main(int argc, char** argv) {
  ds::VerifyJob job;
  std::string export_dir;
  return ds::run_tool(
      argc, argv, "ds-verify",
      "Check a suspect model for the owner's watermark. Exit 0: ownership proven; 1: not "
      "proven; 2: bad input; 3: failure.",
      [&](CLI::App& app) {
        app.add_option("--model", job.model_path, "Suspect model (.pt)");
        app.add_option("--keys", job.key_path, "Owner's key")->required();
        app.add_option("--predictions", job.predictions_path,
                       "Black-box only: JSON labels a remote model gave the exported queries");
        app.add_option("--export-queries", export_dir,
                       "Write the black-box queries (queries.pt, query_NNN.png) to this folder");
        app.add_option("--report", job.report_path, "JSON report to write");
        app.add_option("--commitment", job.commitment_path,
                       "The owner's published commitment: the key must match it, byte for byte");
        app.add_option("--owner-public", job.owner_public_path,
                       "The owner's public key (.pub): the key must be signed with it");
        app.add_option("--alpha", job.alpha,
                       "Largest false-claim probability that proves ownership (default 1e-6)");
      },
      [&] {
        if (!export_dir.empty()) {
          int64_t n = ds::export_queries(job.key_path, export_dir);
          spdlog::info("wrote {} queries to {}", n, export_dir);
          return ds::kExitOk;
        }
        ds::VerifyResult result = ds::run_verify_job(job);
        ds::log_summary(result);
        return result.verified() ? ds::kExitOk : ds::kExitNotProven;
      });
}
