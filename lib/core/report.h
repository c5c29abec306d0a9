// JSON reports: a common header (schema, tool, version), file entries with SHA-256, and an
// atomic write.
#pragma once

#include <string>
#include <vector>

#include "core/config.h"

namespace ds {

// Bumped whenever a report field changes meaning or disappears.
constexpr int kReportSchemaVersion = 1;

const char* tool_version();

// {"schema_version", "tool", "version"}.
Json report_header(const std::string& tool);

// {"path", "sha256"} of an existing file.
Json file_entry(const std::string& path);

// Writes the report with 2-space indentation, atomically.
void write_report(const std::string& path, const Json& report);

// Writes the report when `path` is set; if that fails, removes the `outputs` already written so
// that a run leaves all of its files or none, then rethrows.
void write_report_or_remove(const std::string& path, const Json& report,
                            const std::vector<std::string>& outputs);

}  // namespace ds
