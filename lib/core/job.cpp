// The job skeleton: report completion and the all-or-nothing write.
#include "core/job.h"

#include "core/blas_kernels.h"
#include "core/report.h"

namespace ds {

void finish_job(const std::string& tool, JobResult& result, const Stopwatch& clock,
                const std::string& report_path) {
  if (!result.write_report) return;
  Json report = report_header(tool);
  report.update(result.to_json());
  report["timings"]["total_seconds"] = clock.seconds();
  report["timings"]["blas_kernels"] = blas_kernels();
  report["peak_rss_mib"] = peak_rss_mib();
  result.report = report;
  write_report_or_remove(report_path, report, result.outputs);
}

}  // namespace ds
