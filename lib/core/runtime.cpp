// Thread pools and resource measurements.
#include "core/runtime.h"

#include <dlfcn.h>
#include <sys/resource.h>
#include <torch/csrc/jit/python/update_graph_executor_opt.h>
#include <torch/torch.h>

#include <mutex>

#include "core/batch_norm_kernel.h"
#include "core/max_pool_kernel.h"

namespace ds {

void configure_torchscript() {
  // The profiling executor specialises graphs on requires_grad during training and then fails on
  // InferenceMode tensors ("Inference tensors cannot be saved for backward"); the zoo's graphs
  // are plain op sequences that gain nothing from its optimisations on CPU.
  torch::jit::setGraphExecutorOptimize(false);
}

void install_fast_cpu_kernels() {
  static std::once_flag once;
  std::call_once(once, [] {
    install_max_pool_kernel();
    install_batch_norm_kernel();
  });
}

void set_threads(int threads) {
  if (threads < 1) threads = 1;
  torch::set_num_threads(threads);
  // OpenBLAS keeps a separate pthread pool; resolve its setter at run time so the build does
  // not depend on which BLAS LibTorch was linked against.
  using SetThreads = void (*)(int);
  if (auto fn = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    fn(threads);
  }
}

double peak_rss_mib() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;
}

unsigned long long mix_seed(unsigned long long seed, unsigned long long stream) {
  unsigned long long z = seed + 0x9e3779b97f4a7c15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace ds
