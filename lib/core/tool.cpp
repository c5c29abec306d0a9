// Program skeleton: option parsing, logging to stderr, exception-to-exit-code mapping.
#include "core/tool.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "core/errors.h"
#include "core/job.h"
#include "core/runtime.h"

namespace ds {

namespace {
std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }
}  // namespace

int run_tool(int argc, char** argv, const std::string& name, const std::string& description,
             const std::function<void(CLI::App&)>& declare, const std::function<int()>& body) {
  auto logger = spdlog::stderr_color_mt(name);
  logger->set_pattern("%n: %^%l%$: %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::info);

  CLI::App app(description, name);
  bool quiet = false, verbose = false;
  app.add_flag("-q,--quiet", quiet, "Only log warnings and errors");
  app.add_flag("-v,--verbose", verbose, "Log debugging detail");
  app.set_version_flag("--version", std::string(name) + " " + DS_VERSION);
  try {
    declare(app);
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    spdlog::error("{} (see {} --help)", e.what(), name);
    return kExitBadInput;
  }
  if (quiet) spdlog::set_level(spdlog::level::warn);
  if (verbose) spdlog::set_level(spdlog::level::debug);
  configure_torchscript();
  install_fast_cpu_kernels();
  try {
    return body();
  } catch (const InputError& e) {
    spdlog::error("{}", first_line(e.what()));
    return kExitBadInput;
  } catch (const c10::Error& e) {
    spdlog::error("LibTorch: {}", first_line(e.what_without_backtrace()));
    return kExitFailure;
  } catch (const std::exception& e) {
    // TorchScript errors put the useful part after a header line; show it all with --verbose.
    spdlog::debug("{}", e.what());
    spdlog::error("{}", first_line(e.what()));
    return kExitFailure;
  }
}

void log_summary(const JobResult& result) {
  for (const std::string& line : result.summary()) spdlog::info("{}", line);
}

}  // namespace ds
