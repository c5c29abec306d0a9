// The sections of the results page, built once from a run's reports and rendered twice (HTML
// and Markdown): paragraphs, tables and figures for models, embedding, verification,
// integrity, capacity and robustness.
#pragma once

#include <string>
#include <vector>

#include "report/run_reports.h"

namespace ds {

struct Table {
  std::vector<std::string> head;
  std::vector<std::vector<std::string>> rows;
};

struct Block {
  enum Kind { kText, kTable, kFigure } kind;
  std::string text;  // paragraph, or figure caption
  Table table;
  std::string figure_name, svg;
};

struct Section {
  std::string title;
  std::vector<Block> blocks;
  void text(std::string t) { blocks.push_back({Block::kText, std::move(t), {}, "", ""}); }
  void table(Table t) { blocks.push_back({Block::kTable, "", std::move(t), "", ""}); }
  // The table, or `note` when it has no rows.
  void table_or(Table t, std::string note) {
    if (t.rows.empty()) {
      text(std::move(note));
    } else {
      table(std::move(t));
    }
  }
  void figure(std::string name, std::string svg, std::string caption) {
    blocks.push_back({Block::kFigure, std::move(caption), {}, std::move(name), std::move(svg)});
  }
};

// Every section, in page order.
std::vector<Section> results_sections(const RunReports& reports);

}  // namespace ds
