// Report helpers.
#include "core/report.h"

#include <cstdio>

#include "core/files.h"
#include "core/sha256.h"

#ifndef DS_VERSION
#define DS_VERSION "dev"
#endif

namespace ds {

const char* tool_version() { return DS_VERSION; }

Json report_header(const std::string& tool) {
  return Json{{"schema_version", kReportSchemaVersion}, {"tool", tool}, {"version", DS_VERSION}};
}

Json file_entry(const std::string& path) {
  return Json{{"path", path}, {"sha256", sha256_file(path)}};
}

void write_report(const std::string& path, const Json& report) {
  write_file_atomically(path, report.dump(2) + "\n");
}

void write_report_or_remove(const std::string& path, const Json& report,
                            const std::vector<std::string>& outputs) {
  if (path.empty()) return;
  try {
    write_report(path, report);
  } catch (...) {
    for (const auto& o : outputs) std::remove(o.c_str());
    throw;
  }
}

}  // namespace ds
