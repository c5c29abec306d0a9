// ds-report: render an experiment run's JSON reports as an HTML page and/or Markdown.
#include <filesystem>

#include "core/errors.h"
#include "core/files.h"
#include "core/tool.h"
#include "report/results_page.h"

int main(int argc, char** argv) {
  std::string run_dir, html_path, markdown_path, command, append_path;
  return ds::run_tool(
      argc, argv, "ds-report",
      "Render a run folder's reports (train, embed, verify, integrity, capacity, sweeps) as a "
      "self-contained HTML page and/or Markdown with SVG figures beside it.",
      [&](CLI::App& app) {
        app.add_option("--run", run_dir, "Run folder (layout: docs/METHOD.md, Experiment pipeline)")
            ->required();
        app.add_option("--html", html_path, "HTML page to write (figures inline)");
        app.add_option("--markdown", markdown_path,
                       "Markdown page to write; figures go to STEM-figures/ beside it");
        app.add_option("--command", command, "How to regenerate the run (printed on the page)");
        app.add_option("--append", append_path,
                       "Markdown to add after the generated sections (hand-run measurements)");
      },
      [&] {
        namespace fs = std::filesystem;
        if (html_path.empty() && markdown_path.empty()) {
          throw ds::InputError("give --html, --markdown or both");
        }
        std::string figure_dir;
        if (!markdown_path.empty()) figure_dir = fs::path(markdown_path).stem().string() + "-figures";
        ds::ResultsPage page = ds::render_results_page(run_dir, command, figure_dir + "/");
        if (!append_path.empty()) page.markdown += "\n" + ds::read_file(append_path);
        if (!markdown_path.empty()) {
          fs::path dir = fs::path(markdown_path).parent_path() / figure_dir;
          fs::create_directories(dir);
          for (const auto& [name, svg] : page.figures) {
            ds::write_file_atomically((dir / name).string(), svg);
          }
          ds::write_file_atomically(markdown_path, page.markdown);
          spdlog::info("markdown: {} ({} figures in {})", markdown_path, page.figures.size(),
                       dir.string());
        }
        if (!html_path.empty()) {
          ds::write_file_atomically(html_path, page.html);
          spdlog::info("html: {}", html_path);
        }
        return ds::kExitOk;
      });
}
