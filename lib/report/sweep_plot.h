// The plot of an attack sweep: one panel per grid entry, test accuracy and each watermark's
// agreement against the attack's strength, filled where that watermark alone proves ownership.
#pragma once

#include <string>
#include <vector>

#include "core/config.h"

namespace ds {

struct SweepPlotPanel {
  std::string label;
  std::string x_axis;  // empty: the points are drawn as categories
  bool x_numeric = true;
  bool log_x = false;
};

// `rows` and `baseline` as in a sweep's results.json.
std::string sweep_svg(const std::string& title, const std::vector<SweepPlotPanel>& plot_panels,
                      const Json& rows, const Json& baseline);

}  // namespace ds
