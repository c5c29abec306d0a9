// Reading a run folder's reports.
#include "report/run_reports.h"

#include <algorithm>

#include "core/errors.h"
#include "core/files.h"

namespace ds {
namespace fs = std::filesystem;
namespace {

Json read_report(const fs::path& path) {
  try {
    return Json::parse(read_file(path.string()));
  } catch (const Json::exception& e) {
    fail_input(path.string(), std::string("not valid JSON (") + e.what() + ")");
  }
}

// The reports of one folder, sorted by name; `prefix` selects and is stripped from the stem.
std::vector<Report> reports_in(const fs::path& dir, const std::string& prefix) {
  std::vector<Report> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const fs::path& p = entry.path();
    if (!entry.is_regular_file() || p.extension() != ".json") continue;
    std::string stem = p.stem().string();
    if (!starts_with(stem, prefix)) continue;
    out.push_back({stem.substr(prefix.size()), read_report(p)});
  }
  std::sort(out.begin(), out.end(),
            [](const Report& a, const Report& b) { return a.name < b.name; });
  return out;
}

}  // namespace

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

RunReports collect_run_reports(const fs::path& run) {
  RunReports r;
  r.train = reports_in(run, "train-");
  r.embed = reports_in(run, "embed-");
  r.verify = reports_in(run, "verify-");
  r.integrity = reports_in(run / "integrity", "");
  r.capacity = reports_in(run / "capacity", "");
  if (fs::is_directory(run / "sweeps")) {
    for (const auto& entry : fs::directory_iterator(run / "sweeps")) {
      fs::path results = entry.path() / "results.json";
      if (!fs::is_regular_file(results)) continue;
      std::string name = entry.path().filename().string();
      r.sweeps.push_back({name, read_report(results)});
      if (fs::is_regular_file(entry.path() / "plot.svg")) {
        r.sweep_plots[name] = read_file((entry.path() / "plot.svg").string());
      }
    }
    std::sort(r.sweeps.begin(), r.sweeps.end(),
              [](const Report& a, const Report& b) { return a.name < b.name; });
  }
  return r;
}

}  // namespace ds
