// The results page of an experiment run (scripts/experiments.mk): reads the run folder's JSON
// reports (layout: run_reports.h) and renders tables and plots as one self-contained HTML page
// and as Markdown.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace ds {

struct ResultsPage {
  std::string html;                                         // figures inline
  std::string markdown;                                     // figures linked
  std::vector<std::pair<std::string, std::string>> figures;  // file name, SVG text
};

// `command` is printed as the way to regenerate the page; `figure_prefix` is the relative path
// the Markdown uses for figure files (e.g. "RESULTS-figures/"). Throws InputError naming the
// file for a report that is not valid JSON.
ResultsPage render_results_page(const std::string& run_dir, const std::string& command,
                                const std::string& figure_prefix);

}  // namespace ds
