// PNG decoding with libpng. libpng reports errors by longjmp; the one function that calls
// setjmp holds no C++ object that needs destroying (its state lives in the caller's frame), and
// the caller throws only after libpng has returned.
#include <png.h>

#include <cstdio>
#include <cstring>

#include "core/errors.h"
#include "data/image_codecs.h"

namespace ds {
namespace {

// Everything read_png touches, owned by decode_png so that a longjmp skips no destructor.
struct PngState {
  const std::string* bytes = nullptr;
  size_t pos = 0;
  char message[256] = "";
  bool too_large = false;  // refused by our pixel cap, not corrupt
  RawImage out;
  std::vector<png_bytep> rows;
};

[[noreturn]] void on_error(png_structp png, png_const_charp msg) {
  auto* s = static_cast<PngState*>(png_get_error_ptr(png));
  std::snprintf(s->message, sizeof s->message, "%s", msg);
  png_longjmp(png, 1);
}

// Warnings (an odd colour profile, a bad ancillary chunk) leave the pixels intact; stay quiet.
void on_warning(png_structp, png_const_charp) {}

void on_read(png_structp png, png_bytep out, size_t n) {
  auto* s = static_cast<PngState*>(png_get_io_ptr(png));
  if (s->bytes->size() - s->pos < n) png_error(png, "truncated: the file ends inside a chunk");
  std::memcpy(out, s->bytes->data() + s->pos, n);
  s->pos += n;
}

// Asks libpng for 8-bit gray or RGB without alpha; returns the channel count it will deliver.
int set_transforms(png_structp png, png_infop info) {
  int color = png_get_color_type(png, info);
  int depth = png_get_bit_depth(png, info);
  if (depth == 16) png_set_scale_16(png);  // rounds v * 255 / 65535, not the low byte dropped
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (color & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  return png_get_channels(png, info);
}

// The only frame libpng longjmps to. False with s->message set on any error.
bool read_png(PngState* s, png_structp png, png_infop info) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_read_fn(png, s, on_read);
  png_read_info(png, info);
  png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  if (uint64_t(w) * h > uint64_t(kMaxImagePixels)) {
    std::snprintf(s->message, sizeof s->message,
                  "%u x %u pixels, over the limit of %lld (4096 x 4096)", w, h,
                  static_cast<long long>(kMaxImagePixels));
    s->too_large = true;
    return false;
  }
  int channels = set_transforms(png, info);
  if ((channels != 1 && channels != 3) || png_get_rowbytes(png, info) != size_t(w) * channels) {
    std::snprintf(s->message, sizeof s->message, "unexpected pixel layout after conversion");
    return false;
  }
  s->out.channels = channels;
  s->out.height = h;
  s->out.width = w;
  s->out.pixels.resize(size_t(w) * h * size_t(channels));
  s->rows.resize(h);
  for (png_uint_32 y = 0; y < h; ++y) s->rows[y] = s->out.pixels.data() + size_t(y) * w * channels;
  png_read_image(png, s->rows.data());
  png_read_end(png, nullptr);  // a missing IEND or a bad CRC after the pixels is truncation too
  return true;
}

}  // namespace

RawImage decode_png(const std::string& bytes, const std::string& path) {
  if (bytes.size() < 8 || png_sig_cmp(reinterpret_cast<png_const_bytep>(bytes.data()), 0, 8)) {
    fail_input(path, "not a PNG file (wrong signature)");
  }
  PngState s;
  s.bytes = &bytes;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, on_error, on_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  // Destroys libpng's state on every way out, a bad_alloc from our own buffers included.
  struct Guard {
    png_structp* png;
    png_infop* info;
    ~Guard() { png_destroy_read_struct(png, info, nullptr); }
  } guard{&png, &info};
  if (!png || !info) fail_input(path, "cannot initialise the PNG decoder");
  if (!read_png(&s, png, info)) {
    fail_input(path, (s.too_large ? "PNG of " : "corrupt PNG: ") + std::string(s.message));
  }
  return std::move(s.out);
}

}  // namespace ds
