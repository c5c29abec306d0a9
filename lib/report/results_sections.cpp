// Results page sections: tables and plots from the run's reports.
#include "report/results_sections.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "report/svg_plot.h"

namespace ds {
namespace {

const char* const kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};

std::string num_text(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

std::string arch_of(const std::string& name) { return name.substr(0, name.find('-')); }

double num_or(const Json& j, const char* key, double fallback = NAN) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<double>() : fallback;
}

std::string cell_num(const Json& j, const char* key, const char* f) {
  double v = num_or(j, key);
  return std::isfinite(v) ? num_text(f, v) : "";
}

std::string pct(double v) { return std::isfinite(v) ? num_text("%+.1f%%", 100 * v) : ""; }

// log10 of a part's p-value, exact where the p-value itself underflowed.
double log10_p(const Json& part) {
  double l = num_or(part, "log10_p_value");
  if (std::isfinite(l)) return l;
  double p = num_or(part, "p_value");
  return p > 0 ? std::log10(p) : NAN;
}

std::string p_text(double log10p) {
  if (!std::isfinite(log10p)) return "";
  if (log10p > -3) return num_text("%.3g", std::pow(10.0, log10p));
  double e = std::floor(log10p);
  return num_text("%.1f", std::pow(10.0, log10p - e)) + "e" + num_text("%.0f", e);
}

std::string yes_no(const Json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_boolean()) return "";
  return j[key].get<bool>() ? "yes" : "no";
}

Section models_section(const RunReports& r) {
  Section s{"Models", {}};
  Table t{{"model", "architecture", "epochs", "test accuracy", "train samples/s", "train time (s)",
           "peak RSS (MiB)"},
          {}};
  for (const Report& rep : r.train) {
    const Json& j = rep.json;
    double best_rate = 0;
    if (j.contains("epochs") && j["epochs"].is_array()) {
      for (const Json& e : j["epochs"])
        best_rate = std::max(best_rate, num_or(e, "samples_per_second", 0));
    }
    std::string arch = j.contains("config") ? j["config"]["model"].value("arch", "") : "";
    t.rows.push_back(
        {rep.name, arch, j.contains("epochs") ? std::to_string(j["epochs"].size()) : "",
         cell_num(j, "test_accuracy", "%.4f"), best_rate > 0 ? num_text("%.0f", best_rate) : "",
         j.contains("timings") ? cell_num(j["timings"], "train_seconds", "%.1f") : "",
         cell_num(j, "peak_rss_mib", "%.0f")});
  }
  s.table_or(t, "No training reports in this run.");
  return s;
}

Section embedding_section(const RunReports& r) {
  Section s{"Embedding", {}};
  s.text(
      "wb: white-box (activation) watermark; bb: black-box (key inputs) watermark; both: "
      "black-box added on top of the white-box mark, one key holding both parts. Overhead: "
      "time of an embedding epoch against a plain fine-tuning epoch on the same data.");
  Table t{{"model", "kind", "accuracy before", "after", "change (pts)", "BER / key accuracy",
           "epochs or rounds", "stop", "embed epoch (s)", "plain epoch (s)", "overhead"},
          {}};
  for (const Report& rep : r.embed) {
    const Json& j = rep.json;
    const Json timings = j.value("timings", Json::object());
    bool wb = j.value("kind", "") == "whitebox";
    double drop = num_or(j, "accuracy_drop");
    t.rows.push_back(
        {rep.name, j.value("kind", ""), cell_num(j, "test_accuracy_before", "%.4f"),
         cell_num(j, "test_accuracy", "%.4f"),
         std::isfinite(drop) ? num_text("%+.2f", -100 * drop) : "",
         wb ? "BER " + cell_num(j, "ber", "%.3f") : "keys " + cell_num(j, "key_accuracy", "%.3f"),
         wb ? cell_num(j, "epochs_run", "%.0f") : cell_num(j, "rounds", "%.0f"),
         j.value("stop_reason", ""), cell_num(timings, "embed_epoch_seconds", "%.2f"),
         cell_num(timings, "plain_epoch_seconds", "%.2f"), pct(num_or(timings, "embed_overhead"))});
  }
  s.table_or(t, "No embedding reports in this run.");
  return s;
}

Section verification_section(const RunReports& r) {
  Section s{"Verification of the marked models", {}};
  s.text(
      "ds-verify on each marked model with its owner's key. Ownership is proven when the "
      "false-claim probability (p) is at most alpha.");
  Table t{{"model", "proven", "white-box BER", "white-box p", "black-box mismatches", "black-box p",
           "alpha"},
          {}};
  for (const Report& rep : r.verify) {
    const Json& j = rep.json;
    const Json wb = j.value("whitebox", Json::object()), bb = j.value("blackbox", Json::object());
    t.rows.push_back(
        {rep.name, yes_no(j, "verified"), cell_num(wb, "ber", "%.3f"), p_text(log10_p(wb)),
         bb.contains("mismatches")
             ? cell_num(bb, "mismatches", "%.0f") + " of " + cell_num(bb, "keys", "%.0f")
             : "",
         p_text(log10_p(bb)), cell_num(j, "alpha", "%g")});
  }
  s.table_or(t, "No verification reports in this run.");
  return s;
}

// Strip plot of -log10 p: unmarked models against marked ones, one panel per watermark part.
std::string integrity_plot(const RunReports& r, double alpha) {
  std::vector<PlotPanel> panels;
  for (const char* part : {"whitebox", "blackbox"}) {
    PlotPanel p;
    p.title = std::string(part) == "whitebox" ? "white-box" : "black-box";
    p.x_ticks = {"unmarked models", "marked models"};
    p.x_label = "";
    p.y_label = "-log10 p (capped at 20)";
    p.y_min = 0, p.y_max = 20;
    p.guides = {{-std::log10(alpha), "alpha " + num_text("%g", alpha)}};
    std::map<std::string, PlotSeries> by_arch;
    auto add = [&](const std::string& arch, double x, const Json& part_json, size_t k) {
      double l = log10_p(part_json);
      if (!std::isfinite(l)) return;
      PlotSeries& ser = by_arch[arch];
      ser.x.push_back(x + 0.05 * (double(k % 7) - 3));  // spread points sideways
      ser.y.push_back(std::min(20.0, -l));
      ser.filled.push_back(part_json.value("verified", false));
    };
    size_t k = 0;
    for (const Report& rep : r.integrity) {
      if (rep.json.contains(part)) add(arch_of(rep.name), 0, rep.json[part], k++);
    }
    k = 0;
    for (const Report& rep : r.verify) {
      if (rep.json.contains(part)) add(arch_of(rep.name), 1, rep.json[part], k++);
    }
    size_t c = 0;
    for (auto& [arch, ser] : by_arch) {
      ser.name = arch + " (filled: proven)";
      ser.color = kColors[c++ % 6];
      p.series.push_back(ser);
    }
    if (!p.series.empty()) panels.push_back(p);
  }
  if (panels.empty()) return "";
  return render_svg(
      "Integrity: false-claim probability of unmarked vs marked models",
      "Each point is one ds-verify report; above the dotted line ownership is proven.", panels, 2);
}

Section integrity_section(const RunReports& r) {
  Section s{"Integrity (no false claims)", {}};
  double alpha = 1e-6;
  if (!r.integrity.empty()) alpha = num_or(r.integrity.front().json, "alpha", alpha);
  s.text(
      "Unmarked models (the base model the key was made for, and models trained with other "
      "seeds) checked against the owner's key. None may verify.");
  std::map<std::string, std::vector<const Report*>> by_arch;
  for (const Report& rep : r.integrity) by_arch[arch_of(rep.name)].push_back(&rep);
  Table t{{"key of", "unmarked models", "proven (false claims)", "smallest white-box p",
           "largest white-box BER", "smallest black-box p"},
          {}};
  for (const auto& [arch, reps] : by_arch) {
    int proven = 0;
    double wb_min = INFINITY, bb_min = INFINITY, ber_max = -INFINITY;
    for (const Report* rep : reps) {
      const Json& j = rep->json;
      proven += j.value("verified", false) ? 1 : 0;
      if (j.contains("whitebox")) {
        double l = log10_p(j["whitebox"]);
        if (std::isfinite(l)) wb_min = std::min(wb_min, l);
        ber_max = std::max(ber_max, num_or(j["whitebox"], "ber", -INFINITY));
      }
      if (j.contains("blackbox")) {
        double l = log10_p(j["blackbox"]);
        if (std::isfinite(l)) bb_min = std::min(bb_min, l);
      }
    }
    t.rows.push_back({arch, std::to_string(reps.size()), std::to_string(proven), p_text(wb_min),
                      std::isfinite(ber_max) ? num_text("%.3f", ber_max) : "", p_text(bb_min)});
  }
  if (t.rows.empty()) {
    s.text("No integrity reports in this run.");
    return s;
  }
  s.table(t);
  std::string svg = integrity_plot(r, alpha);
  if (!svg.empty()) {
    s.figure("integrity.svg", svg,
             "False-claim probability (-log10 p) of unmarked and marked models.");
  }
  return s;
}

Section capacity_section(const RunReports& r) {
  Section s{"Capacity", {}};
  s.text(
      "White-box payloads of N bits on one carrier class (raw bits, no error correction), "
      "embedded into the same unmarked model with the same embedding config.");
  struct Point {
    double bits, acc_before, acc, ber, overhead, epochs;
  };
  std::map<std::string, std::vector<Point>> by_arch;
  for (const Report& rep : r.capacity) {
    const Json& j = rep.json;
    if (j.value("kind", "") != "whitebox") continue;
    double bits = j.contains("watermark") ? num_or(j["watermark"], "bits_per_carrier") : NAN;
    if (!std::isfinite(bits)) continue;
    by_arch[arch_of(rep.name)].push_back(
        {bits, num_or(j, "test_accuracy_before"), num_or(j, "test_accuracy"), num_or(j, "ber"),
         j.contains("timings") ? num_or(j["timings"], "embed_overhead") : NAN,
         num_or(j, "epochs_run")});
  }
  if (by_arch.empty()) {
    s.text("No capacity reports in this run.");
    return s;
  }
  Table t{
      {"model", "bits", "BER", "accuracy before", "after", "change (pts)", "epochs", "overhead"},
      {}};
  PlotPanel acc, ber;
  acc.title = "test accuracy change (points)";
  acc.x_label = "bits per carrier class";
  acc.log_x = true;
  acc.y_label = "points";
  ber.title = "bit error rate after embedding";
  ber.x_label = acc.x_label;
  ber.log_x = true;
  ber.y_label = "BER";
  ber.y_max = 0.5;
  double lo = -0.5, hi = 0.5;
  size_t c = 0;
  for (auto& [arch, pts] : by_arch) {
    std::sort(pts.begin(), pts.end(),
              [](const Point& a, const Point& b) { return a.bits < b.bits; });
    PlotSeries sa{arch, kColors[c % 6], "", {}, {}, {}}, sb{arch, kColors[c % 6], "", {}, {}, {}};
    ++c;
    for (const Point& p : pts) {
      double change = 100 * (p.acc - p.acc_before);
      t.rows.push_back({arch, num_text("%.0f", p.bits), num_text("%.3f", p.ber),
                        num_text("%.4f", p.acc_before), num_text("%.4f", p.acc),
                        num_text("%+.2f", change), num_text("%.0f", p.epochs), pct(p.overhead)});
      sa.x.push_back(p.bits), sa.y.push_back(change), sa.filled.push_back(true);
      sb.x.push_back(p.bits), sb.y.push_back(p.ber), sb.filled.push_back(p.ber == 0);
      lo = std::min(lo, change), hi = std::max(hi, change);
    }
    acc.series.push_back(sa);
    ber.series.push_back(sb);
  }
  acc.y_min = std::floor(lo * 2) / 2, acc.y_max = std::ceil(hi * 2) / 2;
  acc.guides = {{-0.3, "-0.3 pts"}};
  s.table(t);
  s.figure("capacity.svg",
           render_svg("Capacity: payload size against accuracy and bit errors",
                      "Filled BER markers: every bit recovered.", {acc, ber}, 2),
           "Payload size against test-accuracy change and BER.");
  return s;
}

std::string proven_range(const Json& panel, const char* key) {
  if (!panel.contains(key) || !panel[key].is_array() || panel[key].empty()) return "none";
  const Json& a = panel[key];
  if (a.size() <= 3) {
    std::string o;
    for (size_t i = 0; i < a.size(); ++i) o += (i ? ", " : "") + a[i].get<std::string>();
    return o;
  }
  return a.front().get<std::string>() + " ... " + a.back().get<std::string>() + " (" +
         std::to_string(a.size()) + ")";
}

Section robustness_section(const RunReports& r) {
  Section s{"Robustness to removal attacks", {}};
  if (r.sweeps.empty()) {
    s.text("No attack sweeps in this run.");
    return s;
  }
  s.text(
      "ds-attack sweeps on the doubly marked model (white-box and black-box parts in one "
      "key). Each point attacks the marked model once and verifies the result; the attacker "
      "never sees the key.");
  for (const Report& rep : r.sweeps) {
    const Json& j = rep.json;
    const Json base = j.value("baseline", Json::object());
    s.text("**" + rep.name + "**: " + j.value("title", std::string("sweep")) + "; " +
           std::to_string(j.value("points", 0)) + " points, unattacked test accuracy " +
           cell_num(base, "test_accuracy", "%.4f") + ", " +
           std::to_string(j.value("failed_points", 0)) + " failed.");
    auto plot = r.sweep_plots.find(rep.name);
    if (plot != r.sweep_plots.end()) {
      s.figure("robustness-" + rep.name + ".svg", plot->second,
               rep.name +
                   ": test accuracy and verification strength against attack strength "
                   "(filled markers: ownership proven).");
    }
    Table summary{{"attack", "proven at", "not proven at"}, {}};
    for (const Json& panel : j.value("panels", Json::array())) {
      summary.rows.push_back({panel.value("label", ""), proven_range(panel, "proven_at"),
                              proven_range(panel, "not_proven_at")});
    }
    s.table(summary);
    Table rows{{"attack", "setting", "test accuracy", "proven", "white-box BER", "white-box p",
                "black-box mismatches", "error"},
               {}};
    for (const Json& row : j.value("rows", Json::array())) {
      const Json wb = row.value("whitebox", Json::object()),
                 bb = row.value("blackbox", Json::object());
      rows.rows.push_back(
          {row.value("panel", ""), row.value("setting", ""), cell_num(row, "test_accuracy", "%.4f"),
           yes_no(row, "verified"), cell_num(wb, "ber", "%.3f"), p_text(log10_p(wb)),
           bb.contains("mismatches")
               ? cell_num(bb, "mismatches", "%.0f") + " of " + cell_num(bb, "keys", "%.0f")
               : "",
           row.value("error", "")});
    }
    s.table(rows);
  }
  return s;
}

// ---- machine and provenance ----

}  // namespace

std::vector<Section> results_sections(const RunReports& r) {
  return {models_section(r),    embedding_section(r), verification_section(r),
          integrity_section(r), capacity_section(r),  robustness_section(r)};
}

}  // namespace ds
