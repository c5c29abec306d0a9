// Attack sweeps, run: every point of a plan (attack/sweep_plan.h) in its own child process,
// several at once, collected into a CSV and a JSON table and an SVG plot of accuracy and
// verification strength against attack strength.
#pragma once

#include <string>
#include <vector>

#include "core/config.h"
#include "core/job.h"

namespace ds {

// The child-process contract of a sweep point. For point NNN the parent writes, in
// OUT_DIR/points/, NNN.json (the point's attack config) and NNN.point.json:
//   {"config": ".../NNN.json", "model": MODEL, "keys": KEY or "", "out": ".../NNN.pt",
//    "report": ".../NNN.report.json", "measure_before": true only for point 0}
// and runs `PROGRAM --sweep-point .../NNN.point.json`, PROGRAM being the running executable,
// with stdout and stderr in NNN.log. The child runs run_sweep_point and exits 0 once the
// point's report is written; any other exit fails the point, the log's last line saying why.
constexpr const char* kSweepPointFlag = "--sweep-point";

// The child's side: runs the one attack the point file describes, logging warnings only.
void run_sweep_point(const std::string& point_file);

struct SweepJob {
  std::string config_path;
  std::string model_path;
  std::string key_path;  // optional
  std::string out_dir;
  std::string report_path;  // optional: a copy of the JSON table
};

struct SweepResult : JobResult {
  std::string out_dir;
  Json table;  // title, inputs, baseline, rows, panels, point counts (results.json)
  size_t points = 0, failed_points = 0;

  Json to_json() const override { return table; }
  std::vector<std::string> summary() const override;
};

// Runs the sweep and writes OUT_DIR/{results.csv, results.json, plot.svg} (and points/NNN.*:
// each point's config, report and log).
SweepResult run_sweep(const SweepJob& job);

}  // namespace ds
