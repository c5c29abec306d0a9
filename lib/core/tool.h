// The shared program skeleton of every ds-* tool: parse options, set up logging, run the body,
// and map failures to documented exit codes.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace ds {

// Exit codes shared by all tools (documented in the README).
constexpr int kExitOk = 0;           // success; for ds-verify: ownership proven
constexpr int kExitNotProven = 1;    // ds-verify only: the model did not verify
constexpr int kExitBadInput = 2;     // bad flags, config, or input file
constexpr int kExitFailure = 3;      // anything else (a bug, out of memory, training diverged)

// Runs a tool. `declare` adds options to the app; `body` does the work and returns the exit
// code. Adds --quiet and --verbose. Never lets an exception escape.
int run_tool(int argc, char** argv, const std::string& name, const std::string& description,
             const std::function<void(CLI::App&)>& declare, const std::function<int()>& body);

class JobResult;
// Logs a job's summary lines (info level).
void log_summary(const JobResult& result);

}  // namespace ds
