// Sweep: run each point of the plan as a child process, collect, tabulate, plot.
#include "jobs/sweep_job.h"

#include <fcntl.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>

#include "attack/sweep_plan.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/report.h"
#include "jobs/attack_job.h"
#include "model/model_io.h"
#include "report/sweep_plot.h"
#include "watermark/key_file.h"

extern char** environ;

namespace ds {
namespace fs = std::filesystem;
namespace {

std::string self_executable() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
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

// What every row says of its point: where it sits in the plan and its config.
Json point_row(const SweepPoint& p, const SweepPanel& panel, size_t index) {
  return Json{{"point", index},
              {"panel", panel.label},
              {"attack", p.config["attack"]},
              {"setting", p.setting},
              {"x", p.x},
              {"series", p.series},
              {"config", p.config}};
}

// One row of the table from a point's ds-attack report.
Json row_from_report(const SweepPoint& p, const SweepPanel& panel, size_t index, const Json& r) {
  Json row = point_row(p, panel, index);
  if (r.contains("test_accuracy")) row["test_accuracy"] = r["test_accuracy"];
  if (r.contains("details")) row["details"] = r["details"];
  if (r.contains("verification")) {
    const Json& v = r["verification"];
    row["verified"] = v.value("verified", false);
    if (v.contains("whitebox_error")) row["verification_error"] = v["whitebox_error"];
    if (v.contains("whitebox") && v["whitebox"].contains("ber")) {
      row["whitebox"] =
          json_pick(v["whitebox"], {"ber", "bit_errors", "bits", "p_value", "verified"});
    }
    if (v.contains("blackbox")) {
      row["blackbox"] =
          json_pick(v["blackbox"], {"mismatches", "keys", "threshold", "p_value", "verified"});
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
      return v.is_number_float() ? fmt(v.get<double>()) : json_text(v);
    };
    o << r["point"].get<size_t>() << "," << csv_field(r["panel"].get<std::string>()) << ","
      << csv_field(json_text(r["attack"])) << "," << csv_field(r["setting"].get<std::string>())
      << "," << csv_field(r["x"].is_null() ? "" : json_text(r["x"])) << ","
      << (r.contains("test_accuracy") ? fmt(r["test_accuracy"].get<double>()) : "") << ","
      << (r.contains("verified") ? json_text(r["verified"]) : "") << "," << get("whitebox", "ber")
      << "," << get("whitebox", "p_value") << "," << get("whitebox", "verified") << ","
      << get("blackbox", "mismatches") << "," << get("blackbox", "keys") << ","
      << get("blackbox", "p_value") << "," << get("blackbox", "verified") << ","
      << (r.contains("seconds") ? fmt(r["seconds"].get<double>()) : "") << ","
      << csv_field(r.value("error", r.value("verification_error", ""))) << "\n";
  }
  return o.str();
}

// The table row of a point whose child failed.
Json failed_row(const SweepPoint& p, const SweepPanel& panel, size_t index, int code,
                const std::string& log) {
  Json row = point_row(p, panel, index);
  row["exit_code"] = code;
  row["error"] = last_line(log);
  return row;
}

// One log line per finished point.
std::string row_summary(const Json& row) {
  if (row.contains("error")) return "FAILED: " + row["error"].get<std::string>();
  std::string summary;
  if (row.contains("test_accuracy"))
    summary += "accuracy " + fmt(row["test_accuracy"].get<double>());
  if (row.contains("whitebox")) {
    summary += ", white-box BER " + fmt(row["whitebox"]["ber"].get<double>()) +
               (row["whitebox"]["verified"].get<bool>() ? " (proven)" : " (not proven)");
  }
  if (row.contains("blackbox")) {
    summary += ", black-box " + json_text(row["blackbox"]["mismatches"]) + "/" +
               json_text(row["blackbox"]["keys"]) + " wrong" +
               (row["blackbox"]["verified"].get<bool>() ? " (proven)" : " (not proven)");
  }
  if (row.contains("verification_error")) summary += ", white-box: cannot extract";
  return summary;
}

// Runs a plan's points as child processes, `workers` at a time, and collects their rows.
class PointRunner {
 public:
  PointRunner(const SweepJob& job, const SweepPlan& plan, const LoadedModel& model)
      : job_(job),
        plan_(plan),
        model_(model),
        exe_(self_executable()),
        dir_(job.out_dir + "/points") {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (!fs::is_directory(dir_)) fail_input(job.out_dir, "cannot create the output folder");
    if (!job.key_path.empty()) key_sha_ = file_entry(job.key_path)["sha256"].get<std::string>();
    for (size_t i = 0; i < plan.points.size(); ++i) write_point_files(i);
  }

  // Runs every point; fills rows, baseline and the counts.
  void run(std::vector<Json>& rows, Json& baseline, size_t& failed, size_t& reused);

 private:
  std::string base(size_t i) const {
    char b[32];
    std::snprintf(b, sizeof b, "/%03zu", i);
    return dir_ + b;
  }
  void write_point_files(size_t i);
  void start(size_t i);
  bool finished_before(size_t i) const;
  Json collect(size_t i, int code, Json& baseline, size_t& failed);

  const SweepJob& job_;
  const SweepPlan& plan_;
  const LoadedModel& model_;
  std::string exe_, dir_, key_sha_;
  std::map<pid_t, size_t> running_;
};

void PointRunner::write_point_files(size_t i) {
  write_file_atomically(base(i) + ".json", plan_.points[i].config.dump(2) + "\n");
  // The unattacked model is measured once, by the first point, for the baseline.
  Json point{{"config", base(i) + ".json"},
             {"model", job_.model_path},
             {"keys", job_.key_path},
             {"out", base(i) + ".pt"},
             {"report", base(i) + ".report.json"},
             {"measure_before", i == 0}};
  write_file_atomically(base(i) + ".point.json", point.dump(2) + "\n");
}

void PointRunner::start(size_t i) {
  std::vector<std::string> args = {exe_, kSweepPointFlag, base(i) + ".point.json"};
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
  int rc = posix_spawn(&pid, exe_.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("cannot start a sweep point: " + std::string(strerror(rc)));
  running_[pid] = i;
}

// A point whose report is already there, for the same config, model and key, is not run again:
// an interrupted sweep picks up where it stopped.
bool PointRunner::finished_before(size_t i) const {
  std::string path = base(i) + ".report.json";
  if (!fs::exists(path)) return false;
  try {
    Json r = read_json_file(path);
    bool same_key = key_sha_.empty()
                        ? !r["inputs"].contains("key")
                        : r["inputs"].contains("key") && r["inputs"]["key"]["sha256"] == key_sha_;
    return r["attack"] == plan_.points[i].config &&
           r["inputs"]["model"]["sha256"] == model_.sha256 && same_key;
  } catch (const std::exception&) {
    return false;
  }
}

Json PointRunner::collect(size_t i, int code, Json& baseline, size_t& failed) {
  const SweepPoint& p = plan_.points[i];
  const SweepPanel& panel = plan_.panels[p.panel];
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
    row = failed_row(p, panel, i, code, base(i) + ".log");
  }
  if (!plan_.keep_models) std::remove((base(i) + ".pt").c_str());
  return row;
}

void PointRunner::run(std::vector<Json>& rows, Json& baseline, size_t& failed, size_t& reused) {
  const size_t n = plan_.points.size();
  // Decided once, before any point starts (starting a point removes its old report).
  std::vector<bool> reuse(n);
  for (size_t i = 0; i < n; ++i) reuse[i] = finished_before(i);
  size_t next = 0, done = 0;
  while (done < n) {
    int status = 0;
    size_t i = 0;
    if (next < n && reuse[next]) {
      i = next++;
      ++reused;
    } else {
      while (next < n && int(running_.size()) < plan_.workers && !reuse[next]) {
        start(next++);
      }
      if (running_.empty()) continue;
      pid_t pid = waitpid(-1, &status, 0);
      if (pid < 0) throw std::runtime_error("lost track of the sweep's points");
      auto it = running_.find(pid);
      if (it == running_.end()) continue;
      i = it->second;
      running_.erase(it);
    }
    ++done;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    rows[i] = collect(i, code, baseline, failed);
    const SweepPoint& p = plan_.points[i];
    spdlog::info("[{}/{}] {} {}: {}", done, n, plan_.panels[p.panel].label, p.setting,
                 row_summary(rows[i]));
  }
}

// Each panel's proven and lost settings.
Json panel_verdicts(const SweepPlan& plan, const std::vector<Json>& rows) {
  Json panels = Json::array();
  for (const SweepPanel& panel : plan.panels) {
    Json proven = Json::array(), lost = Json::array();
    for (const Json& r : rows) {
      if (r["panel"] != panel.label || !r.contains("verified")) continue;
      (r["verified"].get<bool>() ? proven : lost).push_back(r["setting"]);
    }
    panels.push_back(Json{{"label", panel.label},
                          {"attack", panel.attack},
                          {"x", panel.x_axis},
                          {"proven_at", proven},
                          {"not_proven_at", lost}});
  }
  return panels;
}

std::vector<SweepPlotPanel> plot_panels(const SweepPlan& plan) {
  std::vector<SweepPlotPanel> out;
  for (const SweepPanel& p : plan.panels) out.push_back({p.label, p.x_axis, p.x_numeric, p.log_x});
  return out;
}

}  // namespace

void run_sweep_point(const std::string& point_file) {
  spdlog::set_level(spdlog::level::warn);
  Json point = read_json_file(point_file);
  ConfigObject p(point, point_file);
  AttackJob job;
  job.config_path = p.get_string("config", "");
  job.model_path = p.get_string("model", "");
  job.key_path = p.get_string("keys", "");
  job.out_path = p.get_string("out", "");
  job.report_path = p.get_string("report", "");
  job.measure_before = p.get_bool("measure_before", false);
  p.finish();
  run_attack_job(job);
}

std::vector<std::string> SweepResult::summary() const {
  std::vector<std::string> lines = {"sweep table: " + out_dir + "/results.csv, plot: " + out_dir +
                                    "/plot.svg"};
  if (failed_points > 0) {
    lines.push_back(std::to_string(failed_points) + " of " + std::to_string(points) +
                    " sweep points failed; their errors are in " + out_dir + "/results.csv");
  }
  return lines;
}

SweepResult run_sweep(const SweepJob& job) {
  SweepPlan plan = plan_sweep(read_json_file(job.config_path), job.config_path);
  LoadedModel model = load_model(job.model_path);  // fail here, once, on a bad model or key
  if (!job.key_path.empty()) read_key(job.key_path);
  SweepResult result = run_job("ds-attack", job.out_dir + "/results.json", [&] {
    PointRunner runner(job, plan, model);
    spdlog::info("sweep: {} points in {} panels, {} at a time", plan.points.size(),
                 plan.panels.size(), plan.workers);
    SweepResult r;
    r.out_dir = job.out_dir;
    r.points = plan.points.size();
    std::vector<Json> rows(r.points);
    Json baseline = Json::object();
    size_t reused = 0;
    runner.run(rows, baseline, r.failed_points, reused);
    Json& t = r.table;
    t["kind"] = "sweep";
    t["title"] = plan.title;
    t["inputs"] = Json{{"config", file_entry(job.config_path)},
                       {"model", {{"path", job.model_path}, {"sha256", model.sha256}}}};
    if (!job.key_path.empty()) t["inputs"]["key"] = file_entry(job.key_path);
    t["baseline"] = baseline;
    t["rows"] = rows;
    t["panels"] = panel_verdicts(plan, rows);
    t["points"] = r.points;
    t["failed_points"] = r.failed_points;
    t["reused_points"] = reused;
    t["timings"] = Json{{"workers", plan.workers}};
    write_file_atomically(job.out_dir + "/results.csv", table_csv(t["rows"]));
    write_file_atomically(job.out_dir + "/plot.svg",
                          sweep_svg(plan.title, plot_panels(plan), t["rows"], baseline));
    r.outputs = {job.out_dir + "/results.csv", job.out_dir + "/plot.svg"};
    return r;
  });
  if (!job.report_path.empty()) write_report(job.report_path, result.report);
  return result;
}

}  // namespace ds
