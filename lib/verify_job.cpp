// Verification job: extraction, binomial false-claim probability, verdict and report.
#include "verify_job.h"

#include "errors.h"
#include "keys.h"
#include "model_io.h"
#include "report.h"
#include "runtime.h"
#include "whitebox.h"

namespace ds {

VerifyOutcome run_verify_job(const VerifyJob& job) {
  Stopwatch total;
  if (!(job.alpha > 0 && job.alpha < 1)) throw InputError("--alpha must be in (0, 1)");
  set_threads(1);
  OwnerKey key = read_key(job.key_path);
  LoadedModel model = load_model(job.model_path);
  if (!model.info.empty() && model.input_shape() != key.input_shape) {
    fail_input(job.key_path, "key was made for inputs " + Json(key.input_shape).dump() +
                                 ", the model takes " + Json(model.input_shape()).dump());
  }
  VerifyOutcome out;
  Json& report = out.report;
  report = report_header("ds-verify");
  report["inputs"] = Json{{"model", {{"path", job.model_path}, {"sha256", model.sha256}}},
                          {"key", file_entry(job.key_path)}};
  report["inputs"]["key"]["content_sha256"] = key.sha256;
  report["alpha"] = job.alpha;
  if (key.whitebox) {
    WhiteboxExtraction e = extract_whitebox(model.module, *key.whitebox, job.model_path);
    Json bits = Json::array();
    for (int64_t t = 0; t < e.bits.size(0); ++t) {
      std::string row;
      for (int64_t i = 0; i < e.bits.size(1); ++i) row += e.bits[t][i].item<int64_t>() ? '1' : '0';
      bits.push_back(row);
    }
    bool ok = e.p_value <= job.alpha;
    report["whitebox"] = Json{{"verified", ok},
                              {"layer", key.whitebox->layer},
                              {"carriers", key.whitebox->carriers},
                              {"bits", e.total},
                              {"bit_errors", e.errors},
                              {"ber", e.ber},
                              {"p_value", e.p_value},
                              {"log10_p_value", e.log10_p_value},
                              {"extracted_bits", bits}};
    out.verified = ok;
    report["ber"] = e.ber;
    report["p_value"] = e.p_value;
    report["log10_p_value"] = e.log10_p_value;
  }
  report["verified"] = out.verified;
  report["timings"] = Json{{"total_seconds", total.seconds()}};
  if (!job.report_path.empty()) write_report(job.report_path, report);
  return out;
}

}  // namespace ds
