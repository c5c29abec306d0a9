// Test runner: the same TorchScript runtime settings the tools use, then every test.
#include <gtest/gtest.h>

#include "core/runtime.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ds::configure_torchscript();
  return RUN_ALL_TESTS();
}
