// Datasets saved from Python with torch.save({'x': ..., 'y': ...}).
#include "data/data_spec.h"
#include "data/readers.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = ds::fuzz::write_input(data, size, "data.pt");
  return ds::fuzz::run_reader([&] { ds::load_tensor_file(path); });
}
