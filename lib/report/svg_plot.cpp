// SVG rendering: plain text output, no dependencies, deterministic for the same input.
#include "report/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace ds {
namespace {

std::string esc(const std::string& s) { return xml_escape(s); }

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

std::string tick_label(double v) {
  char b[32];
  if (v != 0 && (std::fabs(v) < 1e-2 || std::fabs(v) >= 1e4)) {
    std::snprintf(b, sizeof b, "%.0e", v);
  } else {
    std::snprintf(b, sizeof b, "%g", v);
  }
  return b;
}

constexpr double kPanelW = 460, kPanelH = 300;
constexpr double kLeft = 52, kRight = 16, kTop = 30, kBottom = 92;

// A panel's plotting area and its data-to-pixel maps.
struct Frame {
  double ox, oy, x0, y0, w, h;
  double lo = 0, hi = 1, ylo = 0, yhi = 1;
  bool log_x = false, categorical = false;
  double tx(double v) const { return log_x ? std::log10(std::max(v, 1e-12)) : v; }
  double X(double v) const { return x0 + (tx(v) - lo) / (hi - lo) * w; }
  double Xc(double v) const { return x0 + (v - lo) / (hi - lo) * w; }
  double Xp(double v) const { return categorical ? Xc(v) : X(v); }  // a point's x
  double Y(double v) const {
    double t = std::min(1.0, std::max(0.0, (v - ylo) / (yhi - ylo)));
    return y0 + (1.0 - t) * h;
  }
};

Frame make_frame(const PlotPanel& p, double ox, double oy) {
  Frame f{ox, oy, ox + kLeft, oy + kTop, kPanelW - kLeft - kRight, kPanelH - kTop - kBottom};
  f.log_x = p.log_x;
  f.categorical = !p.x_ticks.empty();
  // x range over all finite points
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& s : p.series) {
    for (double v : s.x) lo = std::min(lo, f.tx(v)), hi = std::max(hi, f.tx(v));
  }
  if (f.categorical) lo = -0.5, hi = double(p.x_ticks.size()) - 0.5;
  if (!(lo < hi)) lo -= 0.5, hi += 0.5;
  double pad = f.categorical ? 0 : (hi - lo) * 0.03;
  f.lo = lo - pad, f.hi = hi + pad;
  f.ylo = p.y_min, f.yhi = p.y_max > p.y_min ? p.y_max : p.y_min + 1;
  return f;
}

// Title, frame, y grid with labels, and the horizontal guides.
void draw_axes(std::ostringstream& o, const PlotPanel& p, const Frame& f) {
  o << "<text x=\"" << num(f.ox + kPanelW / 2) << "\" y=\"" << num(f.oy + 18)
    << "\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">" << esc(p.title)
    << "</text>\n";
  o << "<rect x=\"" << num(f.x0) << "\" y=\"" << num(f.y0) << "\" width=\"" << num(f.w)
    << "\" height=\"" << num(f.h) << "\" fill=\"none\" stroke=\"#999\"/>\n";
  for (int i = 0; i <= 5; ++i) {
    double v = f.ylo + (f.yhi - f.ylo) * i / 5.0;
    o << "<line x1=\"" << num(f.x0) << "\" x2=\"" << num(f.x0 + f.w) << "\" y1=\"" << num(f.Y(v))
      << "\" y2=\"" << num(f.Y(v)) << "\" stroke=\"#eee\"/>\n";
    o << "<text x=\"" << num(f.x0 - 6) << "\" y=\"" << num(f.Y(v) + 4)
      << "\" text-anchor=\"end\" font-size=\"10\">" << tick_label(v) << "</text>\n";
  }
  for (const auto& g : p.guides) {
    o << "<line x1=\"" << num(f.x0) << "\" x2=\"" << num(f.x0 + f.w) << "\" y1=\""
      << num(f.Y(g.first)) << "\" y2=\"" << num(f.Y(g.first))
      << "\" stroke=\"#888\" stroke-dasharray=\"2,3\"/>\n";
    o << "<text x=\"" << num(f.x0 + f.w - 4) << "\" y=\"" << num(f.Y(g.first) - 3)
      << "\" text-anchor=\"end\" font-size=\"9\" fill=\"#666\">" << esc(g.second) << "</text>\n";
  }
}

// x ticks (categories, or the distinct x values, at most 12 labelled) and the axis labels.
void draw_x_axis(std::ostringstream& o, const PlotPanel& p, const Frame& f) {
  std::vector<std::pair<double, std::string>> ticks;
  if (f.categorical) {
    for (size_t i = 0; i < p.x_ticks.size(); ++i) ticks.push_back({f.Xc(double(i)), p.x_ticks[i]});
  } else {
    std::vector<double> xs;
    for (const auto& s : p.series) xs.insert(xs.end(), s.x.begin(), s.x.end());
    std::sort(xs.begin(), xs.end());
    xs.erase(std::unique(xs.begin(), xs.end()), xs.end());
    size_t stride = std::max<size_t>(1, (xs.size() + 11) / 12);
    for (size_t i = 0; i < xs.size(); i += stride) ticks.push_back({f.X(xs[i]), tick_label(xs[i])});
  }
  const double bottom = f.y0 + f.h;
  for (const auto& t : ticks) {
    o << "<line x1=\"" << num(t.first) << "\" x2=\"" << num(t.first) << "\" y1=\"" << num(bottom)
      << "\" y2=\"" << num(bottom + 4) << "\" stroke=\"#999\"/>\n";
    o << "<text x=\"" << num(t.first) << "\" y=\"" << num(bottom + 15)
      << "\" text-anchor=\"middle\" font-size=\"10\">" << esc(t.second) << "</text>\n";
  }
  if (!p.y_label.empty()) {
    o << "<text transform=\"translate(" << num(f.ox + 12) << "," << num(f.y0 + f.h / 2)
      << ") rotate(-90)\" text-anchor=\"middle\" font-size=\"11\">" << esc(p.y_label)
      << "</text>\n";
  }
  o << "<text x=\"" << num(f.x0 + f.w / 2) << "\" y=\"" << num(bottom + 30)
    << "\" text-anchor=\"middle\" font-size=\"11\">" << esc(p.x_label) << "</text>\n";
}

void draw_series(std::ostringstream& o, const PlotPanel& p, const Frame& f) {
  for (const auto& s : p.series) {
    std::string path;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      path += (path.empty() ? "M" : " L") + num(f.Xp(s.x[i])) + "," + num(f.Y(s.y[i]));
    }
    if (!path.empty() && !f.categorical) {  // categories are not a continuum: markers only
      o << "<path d=\"" << path << "\" fill=\"none\" stroke=\"" << s.color
        << "\" stroke-width=\"1.6\"";
      if (!s.dash.empty()) o << " stroke-dasharray=\"" << s.dash << "\"";
      o << "/>\n";
    }
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      bool fill = i < s.filled.size() && s.filled[i];
      o << "<circle cx=\"" << num(f.Xp(s.x[i])) << "\" cy=\"" << num(f.Y(s.y[i]))
        << "\" r=\"3.2\" stroke=\"" << s.color << "\" fill=\"" << (fill ? s.color : "white")
        << "\"/>\n";
    }
  }
}

// The legend below the axis, one entry per line.
void draw_legend(std::ostringstream& o, const PlotPanel& p, const Frame& f) {
  double ly = f.y0 + f.h + 46;
  for (size_t i = 0; i < p.series.size(); ++i) {
    const auto& s = p.series[i];
    double lx = f.ox + kLeft;
    double yy = ly + double(i) * 13;
    o << "<line x1=\"" << num(lx) << "\" x2=\"" << num(lx + 22) << "\" y1=\"" << num(yy - 3)
      << "\" y2=\"" << num(yy - 3) << "\" stroke=\"" << s.color << "\" stroke-width=\"1.6\"";
    if (!s.dash.empty()) o << " stroke-dasharray=\"" << s.dash << "\"";
    o << "/>\n<text x=\"" << num(lx + 26) << "\" y=\"" << num(yy) << "\" font-size=\"10\">"
      << esc(s.name) << "</text>\n";
  }
}

void render_panel(std::ostringstream& o, const PlotPanel& p, double ox, double oy) {
  const Frame f = make_frame(p, ox, oy);
  draw_axes(o, p, f);
  draw_x_axis(o, p, f);
  draw_series(o, p, f);
  draw_legend(o, p, f);
}

}  // namespace

std::string xml_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::string render_svg(const std::string& title, const std::string& note,
                       const std::vector<PlotPanel>& panels, int columns) {
  columns = std::max(1, std::min<int>(columns, int(std::max<size_t>(1, panels.size()))));
  int rows = int((panels.size() + size_t(columns) - 1) / size_t(columns));
  // Panels with many series need taller legends.
  size_t most = 0;
  for (const auto& p : panels) most = std::max(most, p.series.size());
  double panel_h = kPanelH + std::max(0.0, double(most) - 3.0) * 13.0;
  double width = kPanelW * columns, height = 40 + panel_h * rows + 30;
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << num(width) << "\" height=\""
    << num(height) << "\" viewBox=\"0 0 " << num(width) << " " << num(height)
    << "\" font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o << "<text x=\"" << num(width / 2) << "\" y=\"24\" text-anchor=\"middle\" font-size=\"16\">"
    << esc(title) << "</text>\n";
  for (size_t i = 0; i < panels.size(); ++i) {
    double ox = kPanelW * double(i % size_t(columns));
    double oy = 40 + panel_h * double(i / size_t(columns));
    render_panel(o, panels[i], ox, oy);
  }
  o << "<text x=\"8\" y=\"" << num(height - 10) << "\" font-size=\"10\" fill=\"#444\">" << esc(note)
    << "</text>\n</svg>\n";
  return o.str();
}

}  // namespace ds
