// JPEG decoding with libjpeg-turbo. Its errors (and the warnings that mean it would guess at
// pixels, such as a truncated file it would pad with grey) longjmp to the one function that
// calls setjmp; that frame holds no C++ object that needs destroying, and the caller throws only
// after libjpeg has returned.
#include <csetjmp>
#include <cstdio>
// jpeglib.h needs size_t and FILE declared first.
#include <jerror.h>
#include <jpeglib.h>

#include "core/errors.h"
#include "data/image_codecs.h"

namespace ds {
namespace {

// Progressive files with thousands of tiny scans take minutes to decode; real ones have ~10.
// The same limit as libjpeg-turbo's own TurboJPEG API and fuzzers.
constexpr int kMaxScans = 500;
// Memory libjpeg may take for a progressive file's coefficient buffers (the pixel cap's worth).
constexpr long kMaxDecoderMemory = 256L << 20;

// Everything read_jpeg touches, owned by decode_jpeg so that a longjmp skips no destructor.
struct JpegState {
  std::jmp_buf jump;
  jpeg_progress_mgr progress{};
  char message[JMSG_LENGTH_MAX] = "";
  bool too_large = false;  // refused by our pixel cap, not corrupt
  RawImage out;
};

[[noreturn]] void on_error(j_common_ptr c) {
  auto* s = static_cast<JpegState*>(c->client_data);
  (*c->err->format_message)(c, s->message);
  std::longjmp(s->jump, 1);
}

// Warnings mean corrupt data that libjpeg would paper over; only these few are harmless.
void on_message(j_common_ptr c, int level) {
  int code = c->err->msg_code;
  bool harmless = code == JWRN_JFIF_MAJOR || code == JWRN_ADOBE_XFORM || code == JWRN_BOGUS_ICC;
  if (level < 0 && !harmless) on_error(c);
}

void on_progress(j_common_ptr c) {
  auto* d = reinterpret_cast<j_decompress_ptr>(c);
  if (d->input_scan_number > kMaxScans) {
    auto* s = static_cast<JpegState*>(c->client_data);
    std::snprintf(s->message, sizeof s->message, "more than %d scans", kMaxScans);
    std::longjmp(s->jump, 1);
  }
}

// Chooses 8-bit gray or RGB output; false for colour spaces we do not convert (CMYK, YCCK).
bool set_output(JpegState* s, j_decompress_ptr d) {
  switch (d->jpeg_color_space) {
    case JCS_GRAYSCALE:
      d->out_color_space = JCS_GRAYSCALE;
      return true;
    case JCS_YCbCr:
    case JCS_RGB:
      d->out_color_space = JCS_RGB;
      return true;
    default:
      std::snprintf(s->message, sizeof s->message,
                    "colour space %d (CMYK or YCCK) is not supported", int(d->jpeg_color_space));
      return false;
  }
}

// The only frame libjpeg longjmps to. False with s->message set on any error.
bool read_jpeg(JpegState* s, j_decompress_ptr d, const std::string* bytes) {
  if (setjmp(s->jump)) return false;
  jpeg_create_decompress(d);
  d->progress = &s->progress;  // creation zeroes the struct, so this comes after it
  d->mem->max_memory_to_use = kMaxDecoderMemory;
  jpeg_mem_src(d, reinterpret_cast<const unsigned char*>(bytes->data()), bytes->size());
  jpeg_read_header(d, TRUE);
  if (uint64_t(d->image_width) * d->image_height > uint64_t(kMaxImagePixels)) {
    std::snprintf(s->message, sizeof s->message,
                  "%u x %u pixels, over the limit of %lld (4096 x 4096)", d->image_width,
                  d->image_height, static_cast<long long>(kMaxImagePixels));
    s->too_large = true;
    return false;
  }
  if (!set_output(s, d)) return false;
  jpeg_start_decompress(d);
  size_t stride = size_t(d->output_width) * size_t(d->output_components);
  s->out.channels = d->output_components;
  s->out.height = d->output_height;
  s->out.width = d->output_width;
  s->out.pixels.resize(stride * d->output_height);
  while (d->output_scanline < d->output_height) {
    JSAMPROW row = s->out.pixels.data() + stride * d->output_scanline;
    if (jpeg_read_scanlines(d, &row, 1) != 1) {
      std::snprintf(s->message, sizeof s->message, "decoder stopped early");
      return false;
    }
  }
  jpeg_finish_decompress(d);
  return true;
}

}  // namespace

RawImage decode_jpeg(const std::string& bytes, const std::string& path) {
  if (bytes.size() < 3 || uint8_t(bytes[0]) != 0xFF || uint8_t(bytes[1]) != 0xD8) {
    fail_input(path, "not a JPEG file (wrong signature)");
  }
  JpegState s;
  jpeg_error_mgr errors;
  jpeg_decompress_struct d{};
  d.err = jpeg_std_error(&errors);
  errors.error_exit = on_error;
  errors.emit_message = on_message;
  d.client_data = &s;
  s.progress.progress_monitor = on_progress;
  // Destroys libjpeg's state on every way out (safe before creation: the struct is zeroed).
  struct Guard {
    j_decompress_ptr d;
    ~Guard() { jpeg_destroy_decompress(d); }
  } guard{&d};
  bool ok = read_jpeg(&s, &d, &bytes);
  if (ok && (s.out.channels != 1 && s.out.channels != 3)) ok = false;
  if (!ok) fail_input(path, (s.too_large ? "JPEG of " : "corrupt JPEG: ") + std::string(s.message));
  return std::move(s.out);
}

}  // namespace ds
