// Attack sweeps, planned: a grid of attack configs (configs/sweep-*.json) expanded into points,
// each a complete single-attack config checked before any work, grouped into the panels of the
// sweep's plot. Running the points is jobs/sweep_job.h.
#pragma once

#include <string>
#include <vector>

#include "core/config.h"

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
  Json config;          // a complete single-attack config
  std::string setting;  // "rate=0.5 global=true" (the varied fields)
  Json x;               // the point's value on the panel's x axis (null when none)
  std::string series;   // the other varied fields, e.g. "mode=ftll lr=0.01"
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

}  // namespace ds
