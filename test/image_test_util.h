// Helpers for the image tests: PNG files of any colour type and bit depth (written with zlib,
// so the decoder is not tested against itself), JPEG files (libjpeg), and error expectations.
#pragma once

#include <gtest/gtest.h>
#include <jpeglib.h>
#include <torch/torch.h>
#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "core/errors.h"

namespace ds::testing {

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

inline void put32(std::string& s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s.push_back(char((v >> (8 * i)) & 0xff));
}

inline void png_chunk(std::string& out, const char* type, const std::string& data) {
  put32(out, uint32_t(data.size()));
  std::string body = std::string(type, 4) + data;
  out += body;
  put32(out, uint32_t(crc32(0, reinterpret_cast<const Bytef*>(body.data()), uInt(body.size()))));
}

// A PNG of `rows` (each already packed for colour type and depth, without the filter byte).
inline std::string make_png(uint32_t w, uint32_t h, int color_type, int depth,
                            const std::vector<std::string>& rows, const std::string& plte = "") {
  std::string raw;
  for (const auto& r : rows) raw += std::string(1, '\0') + r;
  uLongf size = compressBound(uLong(raw.size()));
  std::string packed(size, '\0');
  compress2(reinterpret_cast<Bytef*>(packed.data()), &size,
            reinterpret_cast<const Bytef*>(raw.data()), uLong(raw.size()), 9);
  packed.resize(size);
  std::string out("\x89PNG\r\n\x1a\n", 8), ihdr;
  put32(ihdr, w);
  put32(ihdr, h);
  ihdr += std::string{char(depth), char(color_type), 0, 0, 0};
  png_chunk(out, "IHDR", ihdr);
  if (!plte.empty()) png_chunk(out, "PLTE", plte);
  png_chunk(out, "IDAT", packed);
  png_chunk(out, "IEND", "");
  return out;
}

// An 8-bit gray (C = 1) or RGB (C = 3) PNG of a C x H x W uint8 tensor.
inline std::string png_of(const torch::Tensor& img) {
  auto hwc = img.permute({1, 2, 0}).contiguous();
  int64_t c = img.size(0), h = img.size(1), w = img.size(2);
  std::vector<std::string> rows;
  for (int64_t y = 0; y < h; ++y) {
    rows.emplace_back(reinterpret_cast<const char*>(hwc.data_ptr<uint8_t>()) + y * w * c, w * c);
  }
  return make_png(uint32_t(w), uint32_t(h), c == 1 ? 0 : 2, 8, rows);
}

// A baseline JPEG of a C x H x W uint8 tensor (C = 1 or 3).
inline std::string jpeg_of(const torch::Tensor& img, int quality = 100) {
  auto hwc = img.permute({1, 2, 0}).contiguous();
  jpeg_compress_struct c{};
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &buf, &size);
  c.image_width = JDIMENSION(img.size(2));
  c.image_height = JDIMENSION(img.size(1));
  c.input_components = int(img.size(0));
  c.in_color_space = img.size(0) == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, quality, TRUE);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row =
        hwc.data_ptr<uint8_t>() + size_t(c.next_scanline) * c.image_width * c.input_components;
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  std::string out(reinterpret_cast<char*>(buf), size);
  jpeg_destroy_compress(&c);
  std::free(buf);
  return out;
}

// Expects an InputError whose one-line message names `path` and contains `needle`.
template <typename F>
void expect_input_error(F&& f, const std::string& path, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected an InputError containing '" << needle << "'";
  } catch (const ds::InputError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "message must be one line: " << msg;
  }
}

}  // namespace ds::testing
