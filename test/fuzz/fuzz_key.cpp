// Owner keys (.key).
#include "fuzz_common.h"
#include "watermark/key_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = ds::fuzz::write_input(data, size, "owner.key");
  return ds::fuzz::run_reader([&] { ds::read_key(path); });
}
