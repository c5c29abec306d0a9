// Decoding PNG and JPEG bytes into 8-bit pixels, with the codec libraries' errors turned into
// InputError naming the file, and a pixel cap checked before any pixel buffer is allocated.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ds {

// Images over this many pixels (4096 x 4096) are refused before their pixels are allocated: a
// dataset image that large is far more likely a corrupt header than a sample, and its float copy
// alone would take 200 MB.
constexpr int64_t kMaxImagePixels = int64_t(1) << 24;

// Decoded pixels, interleaved (H x W x C), 8 bits per channel; channels is 1 (gray) or 3 (RGB).
// Alpha is dropped, palettes are expanded to RGB, 16-bit samples are scaled to 8 bits.
struct RawImage {
  int64_t channels = 0, height = 0, width = 0;
  std::vector<uint8_t> pixels;
};

// Each throws InputError("<path>: ...") for a truncated, corrupt or oversized image; `path`
// only names the image in messages.
RawImage decode_png(const std::string& bytes, const std::string& path);
RawImage decode_jpeg(const std::string& bytes, const std::string& path);

}  // namespace ds
