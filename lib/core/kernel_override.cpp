// Registering a CPU kernel of our own over LibTorch's for one aten operator, in this process.
#include "core/kernel_override.h"

#include <torch/torch.h>

#include <mutex>
#include <utility>

namespace ds {
namespace {

struct QuietWarnings : c10::WarningHandler {
  void process(const c10::SourceLocation&, const std::string&, const bool) override {}
};

}  // namespace

void override_cpu_kernel(const char* op, torch::CppFunction kernel) {
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  // One registration for the process's lifetime: dropping it would restore LibTorch's kernel.
  static torch::Library* lib =
      new torch::Library(torch::Library::IMPL, "aten", c10::DispatchKey::CPU, __FILE__, __LINE__);
  QuietWarnings quiet;
  c10::Warning::WarningHandlerGuard guard(&quiet);
  lib->impl(op, std::move(kernel));
}

}  // namespace ds
