// File helpers: whole-file reads and atomic writes (temporary name in the target folder, then
// rename), so a failed run never leaves a half-written output.
#pragma once

#include <functional>
#include <string>

namespace ds {

// Reads a whole file; throws InputError naming the path if it is missing or unreadable.
std::string read_file(const std::string& path);

// Calls write(tmp_path) with a temporary path beside `path`, then renames it over `path`.
// On any exception the temporary file is removed and the exception propagates.
void write_atomically(const std::string& path, const std::function<void(const std::string&)>& write);

// Writes `content` to `path` atomically.
void write_file_atomically(const std::string& path, const std::string& content);

// Fails with InputError when `output` names the same file as `input` (inputs are never modified).
void require_distinct(const std::string& input, const std::string& output);

}  // namespace ds
