// A remote model's answers to the black-box queries (JSON), for a 32-key, 10-class key.
#include "fuzz_common.h"
#include "jobs/verify_job.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string path = ds::fuzz::write_input(data, size, "labels.json");
  return ds::fuzz::run_reader([&] { ds::read_predictions(path, 32, 10); });
}
