// Registering a CPU kernel of our own over LibTorch's for one aten operator, in this process.
#pragma once

#include <torch/library.h>

namespace ds {

// Makes `kernel` this process's CPU kernel of aten::`op`. LibTorch warns on stderr when a
// kernel replaces another; here that is deliberate, so the warning is kept quiet. Every later
// call through the dispatcher (autograd included) reaches `kernel`; at::cpu:: functions still
// reach LibTorch's own.
void override_cpu_kernel(const char* op, torch::CppFunction kernel);

}  // namespace ds
