// A faster CPU kernel for 2x2, stride-2 max pooling, with the same results as LibTorch's.
#pragma once

#include <cstdint>

namespace ds {

// Replaces LibTorch's CPU kernel of aten::max_pool2d_with_indices in this process by one that
// handles the pooling every zoo CNN uses (2x2 windows, stride 2, no padding or dilation,
// contiguous float32) about 10x faster and passes every other call to LibTorch's own kernel.
// Outputs and indices are bit for bit LibTorch's (the same scan order, tie and NaN rules), so
// models, keys and reports do not change. Called once, by install_fast_cpu_kernels (runtime.h).
void install_max_pool_kernel();

// How many calls the fast path has handled in this process (tests check the routing).
int64_t fast_max_pool_calls();

}  // namespace ds
