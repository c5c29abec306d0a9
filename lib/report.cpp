// Report helpers.
#include "report.h"

#include "files.h"
#include "sha256.h"

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

}  // namespace ds
