// PNG decoding (libpng behind our longjmp boundary), then fitting to a shape the first byte picks.
#include "core/files.h"
#include "data/image_decode.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string path = ds::fuzz::write_input(data + 1, size - 1, "image.png");
  ds::ImageTarget target{data[0] & 0x80 ? 3 : 1, 1 + (data[0] & 0x7) * 5, 1 + (data[0] >> 3 & 0xf),
                         true, "data.shape"};
  return ds::fuzz::run_reader([&] {
    ds::RawImage im = ds::decode_png(ds::read_file(path), path);
    ds::fit_image(im, target, path);
  });
}
