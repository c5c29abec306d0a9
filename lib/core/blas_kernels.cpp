// OpenBLAS kernel choice by instruction set, for CPUs the library does not know.
#include "core/blas_kernels.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>

namespace ds {

namespace {

// The kernels the CPU's instruction sets allow, or null when nothing beats the fallback.
const char* fast_kernels() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512cd")) {
    return "SkylakeX";
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
  return nullptr;
}

}  // namespace

std::string blas_kernels() {
  using CoreName = char* (*)();
  auto fn = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  return fn ? std::string(fn()) : std::string();
}

// OpenBLAS 0.3.21 (Debian 12) picks its kernels by CPU model number, once, when it is loaded. A
// CPU newer than the library, or one whose model a hypervisor hides, gets its oldest x86-64
// kernels (Prescott, SSE3): on the development machine (AVX-512) the GEMMs behind every linear
// layer ran at under half speed. OPENBLAS_CORETYPE is read only at load time, so the program
// starts again with it set; a user's own setting is never overridden.
void use_fast_blas_kernels(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") || blas_kernels() != "Prescott") return;
  const char* kernels = fast_kernels();
  if (!kernels) return;
  setenv("OPENBLAS_CORETYPE", kernels, 1);
  execv("/proc/self/exe", argv);
  unsetenv("OPENBLAS_CORETYPE");  // the exec failed: carry on as we are
}

}  // namespace ds
