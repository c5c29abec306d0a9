// Process-wide runtime settings and measurements: thread counts, peak memory, timing.
#pragma once

#include <chrono>
#include <string>

namespace ds {

// Runs TorchScript methods in the plain interpreter. Called by the tool skeleton and tests.
void configure_torchscript();

// Installs this process's faster CPU kernels, each with LibTorch's results bit for bit: max
// pooling and batch norm (core/max_pool_kernel, core/batch_norm_kernel). Called by the tool
// skeleton and the tests; idempotent.
void install_fast_cpu_kernels();

// Sets LibTorch's intra-op threads and OpenBLAS's own pool to the same count, so the two
// thread pools do not oversubscribe the cores.
void set_threads(int threads);

// Peak resident set size of this process so far, in MiB.
double peak_rss_mib();

class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

// A bijective 64-bit mix (splitmix64): derives independent seeds from one seed and a stream id.
unsigned long long mix_seed(unsigned long long seed, unsigned long long stream);

}  // namespace ds
