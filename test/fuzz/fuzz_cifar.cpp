// CIFAR-10 / CIFAR-100 binary batches.
#include "data/data_spec.h"
#include "data/readers.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string path = ds::fuzz::write_input(data + 1, size - 1, "batch.bin");
  return ds::fuzz::run_reader([&] { ds::load_cifar({path}, (data[0] & 1) != 0); });
}
