// Which OpenBLAS kernels the GEMMs behind linear layers run on, and choosing better ones.
#pragma once

#include <string>

namespace ds {

// The kernel set OpenBLAS runs ("SkylakeX", "Haswell", "Prescott", ...), or "" when LibTorch's
// BLAS is not OpenBLAS.
std::string blas_kernels();

// When OpenBLAS fell back to its oldest x86-64 kernels on a CPU with AVX2 and FMA (or AVX-512)
// and OPENBLAS_CORETYPE is unset, sets it to the matching kernels and re-executes the program
// with the same arguments; otherwise, or if that fails, returns. The restart costs one more
// program start (about 0.4 s of CPU for LibTorch), so the tools that train, and ds-verify with
// many suspects, call it after parsing their options.
void use_fast_blas_kernels(char** argv);

}  // namespace ds
