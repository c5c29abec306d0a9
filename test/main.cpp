// Test runner: the same TorchScript runtime settings the tools use, then every test.
#include <gtest/gtest.h>

#include "core/batch_norm_kernel.h"
#include "core/blas_kernels.h"
#include "core/max_pool_kernel.h"
#include "core/runtime.h"

int main(int argc, char** argv) {
  ds::use_fast_blas_kernels(argv);  // the GEMMs the tools run
  ::testing::InitGoogleTest(&argc, argv);
  ds::configure_torchscript();
  ds::install_max_pool_kernel();  // the kernels the tools run
  ds::install_batch_norm_kernel();
  return RUN_ALL_TESTS();
}
