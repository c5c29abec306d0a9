// ds-verify: prove (exit 0) or fail to prove (exit 1) ownership of a suspect model.
#include "core/blas_kernels.h"
#include "core/tool.h"
#include "jobs/verify_job.h"
#include "jobs/verify_many.h"

#include <iostream>

int main(int argc, char** argv) {
  ds::VerifyJob job;
  std::string export_dir, models_from;
  std::vector<std::string> models;
  return ds::run_tool(
      argc, argv, "ds-verify",
      "Check a suspect model for the owner's watermark. Exit 0: ownership proven; 1: not "
      "proven; 2: bad input; 3: failure. With several suspects (--model repeated, or "
      "--models-from), one JSON line each on stdout; exit 0 when at least one is proven.",
      [&](CLI::App& app) {
        app.add_option("--model", models, "Suspect model (.pt); repeat for several");
        app.add_option("--models-from", models_from,
                       "File listing suspect models, one path per line (# comments)");
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
        app.add_option("--jobs", job.jobs,
                       "Many suspects: how many are verified at once (default 0: one per core)")
            ->check(CLI::NonNegativeNumber);
        app.add_option("--parts", job.parts,
                       "Check only these parts, comma-separated (whitebox, blackbox, regions); "
                       "default every part the key holds. Also limits --export-queries")
            ->delimiter(',')
            ->check(CLI::IsMember({"whitebox", "blackbox", "regions"}));
      },
      [&] {
        if (!export_dir.empty()) {
          int64_t n = ds::export_queries(job, export_dir);
          spdlog::info("wrote {} queries to {}", n, export_dir);
          return ds::kExitOk;
        }
        if (models.size() > 1 || !models_from.empty()) {
          ds::use_fast_blas_kernels(argv);  // many suspects: worth a restart
          ds::VerifyManyResult many =
              ds::verify_many(job, ds::suspect_paths(models, models_from), std::cout);
          ds::log_summary(many);
          return many.proven > 0 ? ds::kExitOk : ds::kExitNotProven;
        }
        if (!models.empty()) job.model_path = models.front();
        ds::VerifyResult result = ds::run_verify_job(job);
        ds::log_summary(result);
        return result.verified() ? ds::kExitOk : ds::kExitNotProven;
      });
}
