// A small SVG line-chart writer for sweep results: panels side by side, each with an x axis
// (numeric or categorical), a y axis ([0, 1] unless set), and series whose points are drawn filled or hollow.
#pragma once

#include <string>
#include <vector>

namespace ds {

struct PlotSeries {
  std::string name;
  std::string color;               // any SVG colour
  std::string dash;                // SVG stroke-dasharray, empty for a solid line
  std::vector<double> x, y;        // y in the panel's range (clipped to it); NaN: no point
  std::vector<bool> filled;        // per point: filled marker (e.g. "ownership proven")
};

struct PlotPanel {
  std::string title;
  std::string x_label;
  std::vector<std::string> x_ticks;  // categorical axis when not empty (x = 0, 1, ...)
  bool log_x = false;
  double y_min = 0, y_max = 1;
  std::string y_label;               // drawn along the y axis when not empty
  std::vector<PlotSeries> series;
  std::vector<std::pair<double, std::string>> guides;  // dotted horizontal lines with labels
};

// Escapes &, <, > and " for XML and HTML text and attributes.
std::string xml_escape(const std::string& s);

// Renders the panels in a grid of `columns`; `title` and `note` head and foot the figure.
std::string render_svg(const std::string& title, const std::string& note,
                       const std::vector<PlotPanel>& panels, int columns);

}  // namespace ds
