// The JSON reports of an experiment run folder (scripts/experiments.mk), read and sorted by
// kind. Run folder layout (every part optional; other files are ignored):
//   train-ARCH.json           ds-train reports (unmarked models)
//   embed-NAME.json           ds-embed-wm reports (NAME = ARCH-wb, ARCH-bb, ARCH-both)
//   verify-NAME.json          ds-verify reports of the marked models
//   integrity/ARCH-*.json     ds-verify reports of unmarked models against ARCH's owner key
//   capacity/ARCH-bN.json     white-box ds-embed-wm reports, one per payload size
//   sweeps/ARCH/results.json  ds-attack sweeps (and the plot.svg beside each)
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/config.h"

namespace ds {

struct Report {
  std::string name;  // file stem (for sweeps: the architecture folder)
  Json json;
};

struct RunReports {
  std::vector<Report> train, embed, verify, integrity, capacity, sweeps;
  std::map<std::string, std::string> sweep_plots;  // sweep name -> plot.svg text
};

// Reads every report of the folder; InputError naming the file for one that is not JSON.
RunReports collect_run_reports(const std::filesystem::path& run);

bool starts_with(const std::string& s, const std::string& prefix);

}  // namespace ds
