// Attack sweeps: a grid of attack configs (configs/sweep-*.json) run against one marked model,
// each point in its own ds-attack process (several at once), collected into a CSV and a JSON
// table and an SVG plot of accuracy and verification strength against attack strength.
#pragma once

#include <string>
#include <vector>

#include "config.h"

namespace ds {

// One panel of the plot: a grid entry and the axis its points are drawn against.
struct SweepPanel {
  std::string label;
  std::string attack;
  std::string x_axis;  // the field varied along x; empty when the entry has no axis
  bool x_numeric = true;
  bool log_x = false;
};

struct SweepPoint {
  size_t panel = 0;
  Json config;         // a complete single-attack config
  std::string setting; // "rate=0.5 global=true" (the varied fields)
  Json x;              // the point's value on the panel's x axis (null when none)
  std::string series;  // the other varied fields, e.g. "mode=ftll lr=0.01"
};

struct SweepPlan {
  std::string title;
  int workers = 1;
  bool keep_models = false;
  std::vector<SweepPanel> panels;
  std::vector<SweepPoint> points;
};

// Expands the grid: in each entry every top-level field whose value is a list is an axis, and
// the entry yields one point per combination. Fields at the top of the sweep (data, seed,
// threads, attacker_fraction, attacker_data) are defaults for every entry. Every point is
// checked as an attack config here, so a bad grid fails before any work.
SweepPlan plan_sweep(const Json& json, const std::string& file);

struct SweepJob {
  std::string config_path;
  std::string model_path;
  std::string key_path;  // optional
  std::string out_dir;
  std::string report_path;  // optional: a copy of the JSON table
};

// Runs the sweep and writes OUT_DIR/{results.csv, results.json, plot.svg} (and points/NNN.*:
// each point's config, report and log). Returns the JSON table.
Json run_sweep(const SweepJob& job);

}  // namespace ds
