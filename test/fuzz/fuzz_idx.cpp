// IDX images + labels (MNIST, Fashion-MNIST): the first byte picks how the input is split.
#include "data/data_spec.h"
#include "data/readers.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t cut = size > 1 ? 1 + data[0] * (size - 1) / 256 : 1;
  std::string images = ds::fuzz::write_input(data + 1, cut - 1, "images");
  std::string labels = ds::fuzz::write_input(data + cut, size - cut, "labels");
  return ds::fuzz::run_reader([&] { ds::load_idx(images, labels); });
}
