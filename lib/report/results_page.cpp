// Results page: collect the run's reports, then emit the same sections as HTML and Markdown.
#include "report/results_page.h"

#include <torch/version.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/errors.h"
#include "report/results_sections.h"
#include "report/svg_plot.h"

namespace ds {
namespace {

namespace fs = std::filesystem;

std::string md_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '|')
      o += "\\|";
    else if (c == '\n')
      o += ' ';
    else
      o += c;
  }
  return o;
}

// One table row: `open`, each cell escaped between `before` and `after`, then `close`.
void write_row(std::ostringstream& o, const std::vector<std::string>& cells, const char* open,
               const char* before, const char* after, const char* close,
               std::string (*escape)(const std::string&)) {
  o << open;
  for (const std::string& c : cells) o << before << escape(c) << after;
  o << close;
}

std::string first_line_with(const char* file, const std::string& prefix) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (starts_with(line, prefix)) {
      std::string v = line.substr(prefix.size());
      size_t b = v.find_first_not_of(" \t:=\"");
      size_t e = v.find_last_not_of(" \t\"");
      return b == std::string::npos ? "" : v.substr(b, e - b + 1);
    }
  }
  return "";
}

std::string machine_text() {
  std::string cpu = first_line_with("/proc/cpuinfo", "model name");
  std::string os = first_line_with("/etc/os-release", "PRETTY_NAME");
  std::string mem = first_line_with("/proc/meminfo", "MemTotal");
  std::string o = cpu.empty() ? std::string("unknown CPU") : cpu;
  o += ", " + std::to_string(std::thread::hardware_concurrency()) + " cores";
  if (!mem.empty()) {
    double kib = std::atof(mem.c_str());
    char gib[32];
    std::snprintf(gib, sizeof gib, "%.0f", kib / 1048576.0);
    o += std::string(", ") + gib + " GiB memory";
  }
  if (!os.empty()) o += ", " + os;
  return o;
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
  return b;
}

// ---- renderers ----

// Minimal inline markup shared by both outputs: **bold** only.
std::string html_inline(const std::string& text) {
  std::string e = xml_escape(text), o;
  bool open = false;
  for (size_t i = 0; i < e.size(); ++i) {
    if (e.compare(i, 2, "**") == 0) {
      o += open ? "</strong>" : "<strong>";
      open = !open;
      ++i;
    } else {
      o += e[i];
    }
  }
  if (open) o += "</strong>";
  return o;
}

std::string render_html(const std::string& title, const std::vector<std::string>& intro,
                        const std::vector<Section>& sections) {
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>"
    << xml_escape(title) << "</title>\n<style>\n"
    << "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}\n"
    << "table{border-collapse:collapse;margin:0.8em 0;font-size:13px}\n"
    << "th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}\n"
    << "th{background:#f3f3f3}\nfigure{margin:1em 0}\nfigcaption{font-size:13px;color:#555}\n"
    << "figure svg{max-width:100%;height:auto}\ndetails{margin:0.5em 0}\n"
    << "</style>\n</head>\n<body>\n<h1>" << xml_escape(title) << "</h1>\n";
  for (const std::string& p : intro) o << "<p>" << html_inline(p) << "</p>\n";
  o << "<ul>\n";
  for (const Section& s : sections) {
    std::string id = s.title.substr(0, s.title.find(' '));
    o << "<li><a href=\"#" << xml_escape(id) << "\">" << xml_escape(s.title) << "</a></li>\n";
  }
  o << "</ul>\n";
  for (const Section& s : sections) {
    std::string id = s.title.substr(0, s.title.find(' '));
    o << "<h2 id=\"" << xml_escape(id) << "\">" << xml_escape(s.title) << "</h2>\n";
    for (const Block& b : s.blocks) {
      if (b.kind == Block::kText) {
        o << "<p>" << html_inline(b.text) << "</p>\n";
      } else if (b.kind == Block::kFigure) {
        std::string svg = b.svg;
        if (starts_with(svg, "<?xml")) svg = svg.substr(svg.find("?>") + 2);
        o << "<figure class=\"plot\" id=\"fig-" << xml_escape(b.figure_name) << "\">\n"
          << svg << "<figcaption>" << xml_escape(b.text) << "</figcaption>\n</figure>\n";
      } else {
        bool long_table = b.table.rows.size() > 20;
        if (long_table) {
          o << "<details><summary>" << b.table.rows.size() << " rows</summary>\n";
        }
        o << "<table>\n";
        write_row(o, b.table.head, "<tr>", "<th>", "</th>", "</tr>\n", xml_escape);
        for (const auto& row : b.table.rows) {
          write_row(o, row, "<tr>", "<td>", "</td>", "</tr>\n", xml_escape);
        }
        o << "</table>\n";
        if (long_table) o << "</details>\n";
      }
    }
  }
  o << "</body>\n</html>\n";
  return o.str();
}

std::string render_markdown(const std::string& title, const std::vector<std::string>& intro,
                            const std::vector<Section>& sections, const std::string& prefix) {
  std::ostringstream o;
  o << "# " << title << "\n\n";
  for (const std::string& p : intro) o << p << "\n\n";
  for (const Section& s : sections) {
    o << "## " << s.title << "\n\n";
    for (const Block& b : s.blocks) {
      if (b.kind == Block::kText) {
        o << b.text << "\n\n";
      } else if (b.kind == Block::kFigure) {
        o << "![" << md_escape(b.text) << "](" << prefix << b.figure_name << ")\n\n";
      } else {
        write_row(o, b.table.head, "|", " ", " |", "\n", md_escape);
        o << "|";
        for (size_t i = 0; i < b.table.head.size(); ++i) o << "---|";
        o << "\n";
        for (const auto& row : b.table.rows) write_row(o, row, "|", " ", " |", "\n", md_escape);
        o << "\n";
      }
    }
  }
  return o.str();
}

}  // namespace

ResultsPage render_results_page(const std::string& run_dir, const std::string& command,
                                const std::string& figure_prefix) {
  if (!fs::is_directory(run_dir)) fail_input(run_dir, "not a folder");
  RunReports reports = collect_run_reports(run_dir);
  const std::string title = "deepsigns results";
  std::vector<std::string> intro = {
      "Run folder: " + run_dir + ". Generated " + utc_now() + " by ds-report " +
          std::string(DS_VERSION) + " (LibTorch " + TORCH_VERSION + ").",
      "Machine: " + machine_text() + ".",
  };
  if (!command.empty()) intro.push_back("Regenerate with: **" + command + "**");
  std::vector<Section> sections = results_sections(reports);
  ResultsPage page;
  page.html = render_html(title, intro, sections);
  page.markdown = render_markdown(title, intro, sections, figure_prefix);
  for (const Section& s : sections) {
    for (const Block& b : s.blocks) {
      if (b.kind == Block::kFigure) page.figures.push_back({b.figure_name, b.svg});
    }
  }
  return page;
}

}  // namespace ds
