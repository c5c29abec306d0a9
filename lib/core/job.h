// The shared skeleton of every job: run it, time it, record peak memory, and write its report
// (header, the result's own fields, timings, memory) atomically. A job returns a typed result;
// the tool logs the result's summary.
#pragma once

#include <string>
#include <vector>

#include "core/config.h"
#include "core/runtime.h"

namespace ds {

class JobResult {
 public:
  virtual ~JobResult() = default;
  // The report's fields; run_job adds the header, timings.total_seconds and peak_rss_mib.
  virtual Json to_json() const = 0;
  // What the tool logs when the job is done, one line per element.
  virtual std::vector<std::string> summary() const = 0;

  std::vector<std::string> outputs;  // files the job wrote: removed if the report cannot be
  bool write_report = true;          // false on the ranks of a data-parallel job but the first
  Json report;                       // the complete report, set by run_job
};

// Completes `result.report` and writes it to `report_path` when that is set; if the write
// fails, removes result.outputs so that a run leaves all of its files or none.
void finish_job(const std::string& tool, JobResult& result, const Stopwatch& clock,
                const std::string& report_path);

// Runs `body` (returning a JobResult subclass), then finish_job.
template <typename Body>
auto run_job(const std::string& tool, const std::string& report_path, Body body) {
  Stopwatch clock;
  auto result = body();
  finish_job(tool, result, clock, report_path);
  return result;
}

}  // namespace ds
