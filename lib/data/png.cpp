// PNG: signature, IHDR, one zlib-compressed IDAT (filter 0 on every row), IEND.
#include "data/png.h"

#include <zlib.h>

#include <stdexcept>

namespace ds {
namespace {

void put32(std::string& s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s.push_back(char((v >> (8 * i)) & 0xff));
}

void chunk(std::string& out, const char* type, const std::string& data) {
  put32(out, uint32_t(data.size()));
  std::string body = std::string(type, 4) + data;
  out += body;
  put32(out, uint32_t(crc32(0, reinterpret_cast<const Bytef*>(body.data()), uInt(body.size()))));
}

}  // namespace

std::string encode_png(const torch::Tensor& image) {
  if (image.dim() != 3 || (image.size(0) != 1 && image.size(0) != 3)) {
    throw std::invalid_argument("encode_png expects a 1 x H x W or 3 x H x W image");
  }
  int64_t c = image.size(0), h = image.size(1), w = image.size(2);
  torch::Tensor px = image.clamp(0, 1).mul(255).round().to(torch::kUInt8).permute({1, 2, 0}).contiguous();
  std::string raw;
  raw.reserve(size_t(h * (w * c + 1)));
  const char* p = reinterpret_cast<const char*>(px.data_ptr<uint8_t>());
  for (int64_t y = 0; y < h; ++y) {
    raw.push_back(0);
    raw.append(p + y * w * c, size_t(w * c));
  }
  uLongf size = compressBound(uLong(raw.size()));
  std::string packed(size, '\0');
  compress2(reinterpret_cast<Bytef*>(packed.data()), &size,
            reinterpret_cast<const Bytef*>(raw.data()), uLong(raw.size()), 9);
  packed.resize(size);
  std::string out("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr;
  put32(ihdr, uint32_t(w));
  put32(ihdr, uint32_t(h));
  ihdr += std::string{8, char(c == 1 ? 0 : 2), 0, 0, 0};
  chunk(out, "IHDR", ihdr);
  chunk(out, "IDAT", packed);
  chunk(out, "IEND", "");
  return out;
}

}  // namespace ds
