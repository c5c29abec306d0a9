// A faster CPU kernel for batch norm's training forward, with the same results as LibTorch's.
#pragma once

#include <cstdint>

namespace ds {

// Replaces LibTorch's CPU kernel of aten::native_batch_norm in this process. In training mode
// on contiguous float32 input it collects the batch statistics with the same sums in the same
// order as LibTorch (so the same bits) several channels at a time, updates the running
// statistics as LibTorch does, and normalises through LibTorch's own kernel; every other call,
// and any channel whose statistics it cannot hand over exactly, goes to LibTorch unchanged.
// Called once, by install_fast_cpu_kernels (runtime.h).
void install_batch_norm_kernel();

// How many calls the fast path has handled in this process (tests check the routing).
int64_t fast_batch_norm_calls();

}  // namespace ds
