// Sweep: plan the grid, run each point as a child ds-attack process, collect, tabulate, plot.
#include "sweep.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include "attack_spec.h"
#include "errors.h"
#include "files.h"
#include "keys.h"
#include "model_io.h"
#include "report.h"
#include "runtime.h"
#include "svg_plot.h"

extern char** environ;

namespace ds {
namespace {

std::string value_text(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) {
    char b[32];
    std::snprintf(b, sizeof b, "%g", v.get<double>());
    return b;
  }
  return v.dump();
}

// Axes worth drawing along x, in order of preference when an entry varies several.
const std::vector<std::string> kStrengthAxes = {"rate", "bits", "scale", "epochs", "units",
                                                "lr", "high", "attacker_fraction", "temperature"};

void expand(const Json& entry, const std::vector<std::string>& axes, size_t i, Json& current,
            std::vector<Json>& out) {
  if (i == axes.size()) {
    out.push_back(current);
    return;
  }
  for (const Json& v : entry[axes[i]]) {
    current[axes[i]] = v;
    expand(entry, axes, i + 1, current, out);
  }
}

}  // namespace

SweepPlan plan_sweep(const Json& json, const std::string& file) {
  if (!json.is_object()) fail_input(file, "top level must be an object");
  SweepPlan plan;
  Json rest = json;
  rest.erase("grid");
  ConfigObject root(rest, file);
  plan.title = root.get_string("title", "ds-attack sweep");
  int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  Json defaults = Json::object();
  if (root.has("threads")) defaults["threads"] = root.get_positive_int("threads", 1);
  int threads = defaults.value("threads", 1);
  plan.workers = int(root.get_positive_int("workers", std::max(1, cores / threads)));
  plan.keep_models = root.get_bool("keep_models", false);
  if (root.has("seed")) defaults["seed"] = root.get_seed("seed", 1);
  if (root.has("attacker_fraction")) {
    defaults["attacker_fraction"] = root.get_fraction("attacker_fraction", 0.1, false);
  }
  for (const char* f : {"data", "attacker_data"}) {
    if (root.has(f)) {
      root.get_object(f);
      defaults[f] = json[f];
    }
  }
  root.finish();
  if (!json.contains("grid") || !json["grid"].is_array() || json["grid"].empty()) {
    fail_input(file, "field 'grid' must be a non-empty list of attack entries");
  }
  const Json& grid = json["grid"];
  for (size_t e = 0; e < grid.size(); ++e) {
    std::string where = file + ": grid[" + std::to_string(e) + "]";
    if (!grid[e].is_object()) throw InputError(where + " must be an object");
    Json entry = grid[e];
    SweepPanel panel;
    for (const char* f : {"label", "x"}) {
      if (entry.contains(f) && !entry[f].is_string()) {
        throw InputError(where + ": field '" + f + "' must be a string");
      }
    }
    std::string x = entry.value("x", "");
    entry.erase("x");
    panel.label = entry.value("label", "");
    entry.erase("label");
    for (auto it = defaults.begin(); it != defaults.end(); ++it) {
      if (!entry.contains(it.key())) entry[it.key()] = it.value();
    }
    std::vector<std::string> axes;
    for (auto it = entry.begin(); it != entry.end(); ++it) {
      if (!it.value().is_array()) continue;
      if (it.value().empty()) throw InputError(where + ": field '" + it.key() + "' is an empty list");
      axes.push_back(it.key());
    }
    if (!x.empty() && std::find(axes.begin(), axes.end(), x) == axes.end()) {
      throw InputError(where + ": field 'x' names '" + x + "', which is not a list in the entry");
    }
    if (x.empty()) {
      for (const auto& a : kStrengthAxes) {
        if (std::find(axes.begin(), axes.end(), a) != axes.end()) {
          x = a;
          break;
        }
      }
      if (x.empty() && !axes.empty()) x = axes.front();
    }
    panel.x_axis = x;
    std::vector<Json> configs;
    Json current = entry;
    expand(entry, axes, 0, current, configs);
    double lo = INFINITY, hi = -INFINITY;
    for (const Json& c : configs) {
      SweepPoint p;
      p.panel = plan.panels.size();
      p.config = c;
      for (const auto& a : axes) {
        std::string kv = a + "=" + value_text(c[a]);
        p.setting += (p.setting.empty() ? "" : " ") + kv;
        if (a != x) p.series += (p.series.empty() ? "" : " ") + kv;
      }
      if (!x.empty()) {
        p.x = c[x];
        if (!p.x.is_number()) panel.x_numeric = false;
        if (p.x.is_number()) lo = std::min(lo, p.x.get<double>()), hi = std::max(hi, p.x.get<double>());
      }
      std::string point_where = where + " (" + (p.setting.empty() ? "single point" : p.setting) + ")";
      try {
        parse_attack_spec(c, point_where);
      } catch (const InputError&) {
        throw;
      } catch (const std::exception& ex) {
        throw InputError(point_where + ": " + ex.what());
      }
      plan.points.push_back(p);
    }
    panel.attack = entry["attack"].is_string() ? entry["attack"].get<std::string>() : "attack";
    if (panel.label.empty()) panel.label = panel.attack;
    panel.log_x = panel.x_numeric && !x.empty() && lo > 0 && hi / lo >= 50;
    plan.panels.push_back(panel);
  }
  return plan;
}

namespace {

std::string self_executable() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error("cannot find this program's path to run sweep points");
  return p.string();
}

std::string last_line(const std::string& path) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const InputError&) {
    return "";
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  size_t nl = text.rfind('\n');
  return nl == std::string::npos ? text : text.substr(nl + 1);
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) o += c == '"' ? std::string("\"\"") : std::string(1, c);
  return o + "\"";
}

std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

// One row of the table from a point's ds-attack report.
Json row_from_report(const SweepPoint& p, const SweepPanel& panel, size_t index, const Json& r) {
  Json row{{"point", index},          {"panel", panel.label}, {"attack", p.config["attack"]},
           {"setting", p.setting},    {"x", p.x},             {"series", p.series},
           {"config", p.config}};
  if (r.contains("test_accuracy")) row["test_accuracy"] = r["test_accuracy"];
  if (r.contains("details")) row["details"] = r["details"];
  if (r.contains("verification")) {
    const Json& v = r["verification"];
    row["verified"] = v.value("verified", false);
    if (v.contains("whitebox_error")) row["verification_error"] = v["whitebox_error"];
    if (v.contains("whitebox") && v["whitebox"].contains("ber")) {
      const Json& w = v["whitebox"];
      row["whitebox"] = Json{{"ber", w["ber"]}, {"bit_errors", w["bit_errors"]}, {"bits", w["bits"]},
                             {"p_value", w["p_value"]}, {"verified", w["verified"]}};
    }
    if (v.contains("blackbox")) {
      const Json& b = v["blackbox"];
      row["blackbox"] = Json{{"mismatches", b["mismatches"]}, {"keys", b["keys"]},
                             {"threshold", b["threshold"]}, {"p_value", b["p_value"]},
                             {"verified", b["verified"]}};
    }
  }
  if (r.contains("timings")) row["seconds"] = r["timings"].value("total_seconds", 0.0);
  return row;
}

std::string table_csv(const Json& rows) {
  std::ostringstream o;
  o << "point,panel,attack,setting,x,test_accuracy,verified,whitebox_ber,whitebox_p_value,"
       "whitebox_verified,blackbox_mismatches,blackbox_keys,blackbox_p_value,blackbox_verified,"
       "seconds,error\n";
  for (const Json& r : rows) {
    auto get = [&](const char* part, const char* field) -> std::string {
      if (!r.contains(part) || !r[part].contains(field)) return "";
      const Json& v = r[part][field];
      return v.is_number_float() ? fmt(v.get<double>()) : value_text(v);
    };
    o << r["point"].get<size_t>() << "," << csv_field(r["panel"].get<std::string>()) << ","
      << csv_field(value_text(r["attack"])) << "," << csv_field(r["setting"].get<std::string>())
      << "," << csv_field(r["x"].is_null() ? "" : value_text(r["x"])) << ","
      << (r.contains("test_accuracy") ? fmt(r["test_accuracy"].get<double>()) : "") << ","
      << (r.contains("verified") ? value_text(r["verified"]) : "") << ","
      << get("whitebox", "ber") << "," << get("whitebox", "p_value") << ","
      << get("whitebox", "verified") << "," << get("blackbox", "mismatches") << ","
      << get("blackbox", "keys") << "," << get("blackbox", "p_value") << ","
      << get("blackbox", "verified") << ","
      << (r.contains("seconds") ? fmt(r["seconds"].get<double>()) : "") << ","
      << csv_field(r.value("error", r.value("verification_error", ""))) << "\n";
  }
  return o.str();
}

std::string sweep_svg(const SweepPlan& plan, const Json& rows, const Json& baseline) {
  bool any_wb = false, any_bb = false;
  for (const Json& r : rows) any_wb |= r.contains("whitebox"), any_bb |= r.contains("blackbox");
  const std::vector<std::string> dashes = {"", "6,3", "2,2", "9,3,2,3", "12,4", "4,4,1,4"};
  std::vector<PlotPanel> panels;
  for (size_t pi = 0; pi < plan.panels.size(); ++pi) {
    const SweepPanel& sp = plan.panels[pi];
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
      std::string c = r["x"].is_null() ? r["setting"].get<std::string>() : value_text(r["x"]);
      if (std::find(categories.begin(), categories.end(), c) == categories.end()) {
        categories.push_back(c);
      }
    }
    if (!sp.x_numeric || sp.x_axis.empty()) panel.x_ticks = categories;
    for (size_t si = 0; si < series_names.size(); ++si) {
      struct Metric { const char* name; const char* color; int kind; };
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
            std::string c = r["x"].is_null() ? r["setting"].get<std::string>() : value_text(r["x"]);
            x = double(std::find(categories.begin(), categories.end(), c) - categories.begin());
          } else {
            x = r["x"].get<double>();
          }
          double y = NAN;
          bool filled = false;
          if (m.kind == 0 && r.contains("test_accuracy")) {
            y = r["test_accuracy"].get<double>();
            filled = true;
          } else if (m.kind == 1) {
            if (r.contains("whitebox")) {
              y = 1.0 - r["whitebox"]["ber"].get<double>();
              filled = r["whitebox"]["verified"].get<bool>();
            } else if (r.contains("verification_error")) {
              y = 0.5;  // extraction impossible: no better than chance
            }
          } else if (m.kind == 2 && r.contains("blackbox")) {
            double k = r["blackbox"]["keys"].get<double>();
            y = 1.0 - r["blackbox"]["mismatches"].get<double>() / std::max(1.0, k);
            filled = r["blackbox"]["verified"].get<bool>();
          }
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
      panel.guides.push_back({1.0 - (theta - 1.0) / std::max(1.0, k), "black-box proof needs this"});
    }
    if (baseline.contains("test_accuracy")) {
      panel.guides.push_back({baseline["test_accuracy"].get<double>(), "unattacked accuracy"});
    }
    panels.push_back(panel);
  }
  return render_svg(plan.title, "Filled marker: that watermark alone proves ownership at that point; "
                                "hollow: it does not. Accuracy on the test set.",
                    panels, 2);
}

}  // namespace

Json run_sweep(const SweepJob& job) {
  Stopwatch total;
  Json json = read_json_file(job.config_path);
  SweepPlan plan = plan_sweep(json, job.config_path);
  LoadedModel model = load_model(job.model_path);  // fail here, once, on a bad model or key
  if (!job.key_path.empty()) read_key(job.key_path);
  namespace fs = std::filesystem;
  std::string points_dir = job.out_dir + "/points";
  std::error_code ec;
  fs::create_directories(points_dir, ec);
  if (!fs::is_directory(points_dir)) fail_input(job.out_dir, "cannot create the output folder");
  std::string exe = self_executable();
  const size_t n = plan.points.size();
  auto base = [&](size_t i) {
    char b[32];
    std::snprintf(b, sizeof b, "/%03zu", i);
    return points_dir + b;
  };
  for (size_t i = 0; i < n; ++i) {
    write_file_atomically(base(i) + ".json", plan.points[i].config.dump(2) + "\n");
  }
  spdlog::info("sweep: {} points in {} panels, {} at a time", n, plan.panels.size(), plan.workers);

  std::vector<Json> rows(n);
  std::map<pid_t, size_t> running;
  size_t next = 0, done = 0, failed = 0;
  Json baseline = Json::object();
  auto start_point = [&](size_t i) {
    std::vector<std::string> args = {exe,           "--config", base(i) + ".json",
                                     "--model",     job.model_path,
                                     "--out",       base(i) + ".pt",
                                     "--report",    base(i) + ".report.json", "--quiet"};
    if (!job.key_path.empty()) args.insert(args.end(), {"--keys", job.key_path});
    // The unattacked model is measured once, by the first point, for the baseline.
    if (i != 0) args.push_back("--no-baseline");
    std::remove((base(i) + ".report.json").c_str());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    std::string log = base(i) + ".log";
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, exe.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw std::runtime_error("cannot start a sweep point: " + std::string(strerror(rc)));
    running[pid] = i;
  };
  // A point whose report is already there, for the same config, model and key, is not run
  // again: an interrupted sweep picks up where it stopped.
  std::string key_sha = job.key_path.empty() ? "" : file_entry(job.key_path)["sha256"].get<std::string>();
  auto finished_before = [&](size_t i) {
    std::string path = base(i) + ".report.json";
    if (!fs::exists(path)) return false;
    try {
      Json r = read_json_file(path);
      bool same_key = key_sha.empty() ? !r["inputs"].contains("key")
                                      : r["inputs"].contains("key") &&
                                            r["inputs"]["key"]["sha256"] == key_sha;
      return r["attack"] == plan.points[i].config &&
             r["inputs"]["model"]["sha256"] == model.sha256 && same_key;
    } catch (const std::exception&) {
      return false;
    }
  };
  size_t reused = 0;
  while (done < n) {
    int status = 0;
    size_t i = 0;
    if (next < n && finished_before(next)) {
      i = next++;
      ++reused;
    } else {
      while (next < n && int(running.size()) < plan.workers && !finished_before(next)) {
        start_point(next++);
      }
      if (running.empty()) continue;
      pid_t pid = waitpid(-1, &status, 0);
      if (pid < 0) throw std::runtime_error("lost track of the sweep's points");
      auto it = running.find(pid);
      if (it == running.end()) continue;
      i = it->second;
      running.erase(it);
    }
    ++done;
    const SweepPoint& p = plan.points[i];
    const SweepPanel& panel = plan.panels[p.panel];
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    Json row;
    if (code == 0) {
      Json report = read_json_file(base(i) + ".report.json");
      row = row_from_report(p, panel, i, report);
      if (i == 0) {
        if (report.contains("test_accuracy_before")) {
          baseline["test_accuracy"] = report["test_accuracy_before"];
        }
        if (report.contains("verification_before")) {
          baseline["verification"] = report["verification_before"];
        }
      }
    } else {
      ++failed;
      row = Json{{"point", i},        {"panel", panel.label}, {"attack", p.config["attack"]},
                 {"setting", p.setting}, {"x", p.x},          {"series", p.series},
                 {"config", p.config},   {"exit_code", code},
                 {"error", last_line(base(i) + ".log")}};
    }
    if (!plan.keep_models) std::remove((base(i) + ".pt").c_str());
    std::string summary = row.contains("error") ? "FAILED: " + row["error"].get<std::string>() : "";
    if (summary.empty()) {
      if (row.contains("test_accuracy")) summary += "accuracy " + fmt(row["test_accuracy"].get<double>());
      if (row.contains("whitebox")) {
        summary += ", white-box BER " + fmt(row["whitebox"]["ber"].get<double>()) +
                   (row["whitebox"]["verified"].get<bool>() ? " (proven)" : " (not proven)");
      }
      if (row.contains("blackbox")) {
        summary += ", black-box " + value_text(row["blackbox"]["mismatches"]) + "/" +
                   value_text(row["blackbox"]["keys"]) + " wrong" +
                   (row["blackbox"]["verified"].get<bool>() ? " (proven)" : " (not proven)");
      }
      if (row.contains("verification_error")) summary += ", white-box: cannot extract";
    }
    spdlog::info("[{}/{}] {} {}: {}", done, n, panel.label, p.setting, summary);
    rows[i] = row;
  }

  Json table = report_header("ds-attack");
  table["kind"] = "sweep";
  table["title"] = plan.title;
  table["inputs"] = Json{{"config", file_entry(job.config_path)},
                         {"model", {{"path", job.model_path}, {"sha256", model.sha256}}}};
  if (!job.key_path.empty()) table["inputs"]["key"] = file_entry(job.key_path);
  table["baseline"] = baseline;
  table["rows"] = rows;
  Json panels = Json::array();
  for (size_t pi = 0; pi < plan.panels.size(); ++pi) {
    Json proven = Json::array(), lost = Json::array();
    for (const Json& r : rows) {
      if (r["panel"] != plan.panels[pi].label || !r.contains("verified")) continue;
      (r["verified"].get<bool>() ? proven : lost).push_back(r["setting"]);
    }
    panels.push_back(Json{{"label", plan.panels[pi].label}, {"attack", plan.panels[pi].attack},
                          {"x", plan.panels[pi].x_axis}, {"proven_at", proven},
                          {"not_proven_at", lost}});
  }
  table["panels"] = panels;
  table["points"] = n;
  table["failed_points"] = failed;
  table["reused_points"] = reused;
  table["timings"] = Json{{"total_seconds", total.seconds()}, {"workers", plan.workers}};
  Json rows_json = rows;
  write_file_atomically(job.out_dir + "/results.csv", table_csv(rows_json));
  write_file_atomically(job.out_dir + "/plot.svg", sweep_svg(plan, rows_json, baseline));
  write_report(job.out_dir + "/results.json", table);
  if (!job.report_path.empty()) write_report(job.report_path, table);
  return table;
}

}  // namespace ds
