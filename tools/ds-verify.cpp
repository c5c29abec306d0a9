// ds-verify: prove (exit 0) or fail to prove (exit 1) ownership of a suspect model.
#include "tool.h"
#include "verify_job.h"

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
        ds::VerifyOutcome out = ds::run_verify_job(job);
        const ds::Json& r = out.report;
        const ds::Json& checks = r["key_checks"];
        spdlog::info("key: content hash {}, signature {}, commitment {}, owner {}",
                     checks["content_hash"].get<std::string>(), checks["signature"].get<std::string>(),
                     checks["commitment"].get<std::string>(), checks["owner"].get<std::string>());
        if (r.contains("ber")) {
          const ds::Json& w = r["whitebox"];
          if (w.contains("alignment")) {
            const ds::Json& a = w["alignment"];
            spdlog::info("white-box: layer '{}' ({} units) matched the key's profile: {} units, "
                         "mean correlation {:.3f}{}",
                         a["layer"].get<std::string>(), a["width"].get<int64_t>(),
                         a["units_matched"].get<int64_t>(), a["mean_correlation"].get<double>(),
                         a["identity"].get<bool>() ? ", in order" : ", reordered");
          }
          spdlog::info("white-box: BER {:.4f}, p-value {:.3g} (alpha {:.3g})", r["ber"].get<double>(),
                       w["p_value"].get<double>(), job.alpha);
          if (w.contains("ecc")) {
            spdlog::info("white-box: error-corrected payload {} (false-claim probability {:.3g})",
                         w["ecc"]["recovered"].get<bool>() ? "recovered" : "not recovered",
                         w["ecc"]["false_claim_probability"].get<double>());
          }
        }
        if (r.contains("blackbox")) {
          spdlog::info("black-box: {} of {} keys mismatched (threshold {}), p-value {:.3g}",
                       r["mismatches"].get<int64_t>(), r["blackbox"]["keys"].get<int64_t>(),
                       r["threshold"].get<int64_t>(), r["blackbox"]["p_value"].get<double>());
        }
        spdlog::info("{}", out.verified ? "ownership PROVEN" : "ownership NOT proven");
        return out.verified ? ds::kExitOk : ds::kExitNotProven;
      });
}
