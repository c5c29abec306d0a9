// JSON reports: a common header (schema, tool, version), file entries with SHA-256, and an
// atomic write.
#pragma once

#include <string>

#include "config.h"

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

}  // namespace ds
