// Test runner: the same TorchScript runtime settings the tools use, then every test.
#include <gtest/gtest.h>

#include "core/blas_kernels.h"
#include "core/runtime.h"

int main(int argc, char** argv) {
  ds::use_fast_blas_kernels(argv);  // the GEMMs the tools run
  ::testing::InitGoogleTest(&argc, argv);
  ds::configure_torchscript();
  ds::install_fast_cpu_kernels();  // the kernels the tools run
  return RUN_ALL_TESTS();
}
