// Sweep plots from a sweep's result rows.
#include "report/sweep_plot.h"

#include <algorithm>
#include <cmath>

#include "report/svg_plot.h"

namespace ds {

namespace {

// The y value of one row for a metric (0: accuracy, 1: white-box, 2: black-box agreement), and
// whether that watermark alone proves ownership there (filled marker).
std::pair<double, bool> metric_value(const Json& r, int kind) {
  double y = NAN;
  bool filled = false;
  if (kind == 0 && r.contains("test_accuracy")) {
    y = r["test_accuracy"].get<double>();
    filled = true;
  } else if (kind == 1) {
    if (r.contains("whitebox")) {
      y = 1.0 - r["whitebox"]["ber"].get<double>();
      filled = r["whitebox"]["verified"].get<bool>();
    } else if (r.contains("verification_error")) {
      y = 0.5;  // extraction impossible: no better than chance
    }
  } else if (kind == 2 && r.contains("blackbox")) {
    double k = r["blackbox"]["keys"].get<double>();
    y = 1.0 - r["blackbox"]["mismatches"].get<double>() / std::max(1.0, k);
    filled = r["blackbox"]["verified"].get<bool>();
  }
  return {y, filled};
}

}  // namespace

std::string sweep_svg(const std::string& title, const std::vector<SweepPlotPanel>& plot_panels,
                      const Json& rows, const Json& baseline) {
  bool any_wb = false, any_bb = false;
  for (const Json& r : rows) any_wb |= r.contains("whitebox"), any_bb |= r.contains("blackbox");
  const std::vector<std::string> dashes = {"", "6,3", "2,2", "9,3,2,3", "12,4", "4,4,1,4"};
  std::vector<PlotPanel> panels;
  for (size_t pi = 0; pi < plot_panels.size(); ++pi) {
    const SweepPlotPanel& sp = plot_panels[pi];
    PlotPanel panel;
    panel.title = sp.label;
    panel.x_label = sp.x_axis.empty() ? "" : sp.x_axis;
    panel.log_x = sp.log_x;
    std::vector<std::string> series_names, categories;
    for (const Json& r : rows) {
      if (r["panel"] != sp.label) continue;
      std::string s = r["series"].get<std::string>();
      if (std::find(series_names.begin(), series_names.end(), s) == series_names.end()) {
        series_names.push_back(s);
      }
      std::string c = r["x"].is_null() ? r["setting"].get<std::string>() : json_text(r["x"]);
      if (std::find(categories.begin(), categories.end(), c) == categories.end()) {
        categories.push_back(c);
      }
    }
    if (!sp.x_numeric || sp.x_axis.empty()) panel.x_ticks = categories;
    for (size_t si = 0; si < series_names.size(); ++si) {
      struct Metric {
        const char* name;
        const char* color;
        int kind;
      };
      std::vector<Metric> metrics = {{"test accuracy", "#222222", 0}};
      if (any_wb) metrics.push_back({"white-box bit agreement", "#1f5fbf", 1});
      if (any_bb) metrics.push_back({"black-box key agreement", "#d9730d", 2});
      for (const Metric& m : metrics) {
        PlotSeries s;
        s.name = m.name + (series_names[si].empty() ? "" : " (" + series_names[si] + ")");
        s.color = m.color;
        s.dash = dashes[si % dashes.size()];
        for (const Json& r : rows) {
          if (r["panel"] != sp.label || r["series"] != series_names[si]) continue;
          double x;
          if (!panel.x_ticks.empty()) {
            std::string c = r["x"].is_null() ? r["setting"].get<std::string>() : json_text(r["x"]);
            x = double(std::find(categories.begin(), categories.end(), c) - categories.begin());
          } else {
            x = r["x"].get<double>();
          }
          auto [y, filled] = metric_value(r, m.kind);
          s.x.push_back(x);
          s.y.push_back(y);
          s.filled.push_back(filled);
        }
        panel.series.push_back(s);
      }
    }
    if (any_wb) panel.guides.push_back({0.5, "chance bit agreement"});
    if (baseline.contains("verification") && baseline["verification"].contains("blackbox")) {
      const Json& b = baseline["verification"]["blackbox"];
      double k = b["keys"].get<double>(), theta = b["threshold"].get<double>();
      panel.guides.push_back(
          {1.0 - (theta - 1.0) / std::max(1.0, k), "black-box proof needs this"});
    }
    if (baseline.contains("test_accuracy")) {
      panel.guides.push_back({baseline["test_accuracy"].get<double>(), "unattacked accuracy"});
    }
    panels.push_back(panel);
  }
  return render_svg(title,
                    "Filled marker: that watermark alone proves ownership at that point; "
                    "hollow: it does not. Accuracy on the test set.",
                    panels, 2);
}

}  // namespace ds
