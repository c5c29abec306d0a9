// Image folders built from the input, loaded as ds-train loads them. The first byte picks the
// options (skip_bad, data.shape, a separate test folder, an empty class folder, the holdout and
// train fractions); then each record [tag][length: 2 bytes][content] becomes one file, the tag
// picking its class folder (of 4), its extension, its split, or a folder in its place.
#include <spdlog/spdlog.h>

#include <filesystem>

#include "data/data_spec.h"
#include "fuzz_common.h"

namespace {

namespace fs = std::filesystem;

void write_records(const uint8_t* data, size_t size, const std::string& train,
                   const std::string& test) {
  static const char* kExts[] = {".png", ".jpg", ".JPEG", ".txt"};
  size_t pos = 0;
  for (int n = 0; pos + 3 <= size && n < 64; ++n) {
    uint8_t tag = data[pos];
    size_t len = std::min<size_t>(size_t(data[pos + 1]) << 8 | data[pos + 2], size - pos - 3);
    std::string dir = (tag & 0x10 ? test : train) + "/c" + std::to_string(tag & 3);
    fs::create_directories(dir);
    std::string name = dir + "/" + std::to_string(100 + n) + kExts[tag >> 2 & 3];
    if (tag & 0x20) {
      fs::create_directories(name);
    } else {
      std::ofstream(name, std::ios::binary)
          .write(reinterpret_cast<const char*>(data + pos + 3), std::streamsize(len));
    }
    pos += 3 + len;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  spdlog::set_level(spdlog::level::off);
  static const std::string base = ds::fuzz::scratch_path("folders");
  fs::remove_all(base);
  uint8_t flags = data[0];
  ds::DataSpec spec;
  spec.format = "imagefolder";
  spec.path = base + "/train";
  fs::create_directories(spec.path);
  if (flags & 4) spec.test_path = base + "/test";
  if (flags & 8) fs::create_directories(spec.path + "/c9");
  write_records(data + 1, size - 1, spec.path, flags & 4 ? spec.test_path : spec.path);
  spec.skip_bad = flags & 1;
  if (flags & 2) spec.shape = {flags & 0x40 ? 3 : 1, 3 + (flags >> 4 & 3), 5};
  spec.holdout_fraction = 0.1 + 0.2 * (flags >> 4 & 3);
  spec.train_fraction = flags & 0x80 ? 0.5 : 1.0;
  return ds::fuzz::run_reader([&] { ds::load_data(spec); });
}
