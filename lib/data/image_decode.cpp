// Decoding one image and fitting it to a dataset's shape (channels, resize, centre crop).
#include "data/image_decode.h"

#include <algorithm>

#include "core/errors.h"
#include "core/files.h"

namespace ds {
namespace {

void check_channels(const RawImage& image, const ImageTarget& t, const std::string& path) {
  if (image.channels == t.channels) return;
  if (image.channels == 1 && t.channels == 3 && t.replicate_gray) return;
  if (!t.replicate_gray) {
    fail_input(path, "mixed channel counts: " + std::to_string(image.channels) + " channel(s), " +
                         t.origin + " has " + std::to_string(t.channels) +
                         "; set data.shape [C, H, W] to convert gray images to RGB");
  }
  // Colour to gray would need a weighting of the channels; better the user chooses it.
  fail_input(path, "is RGB but " + t.origin +
                       " asks for 1 channel; convert the images to gray "
                       "or ask for 3 channels");
}

// Size the image is scaled to so that it covers th x tw: the larger of the two scale factors
// wins, so for a square target the shorter side becomes the target's side.
std::pair<int64_t, int64_t> cover_size(int64_t h, int64_t w, int64_t th, int64_t tw) {
  if (th * w >= tw * h) return {th, std::max(tw, (w * th + h / 2) / h)};
  return {std::max(th, (h * tw + w / 2) / w), tw};
}

torch::Tensor resize_and_crop(const torch::Tensor& x, const ImageTarget& t,
                              const std::string& path) {
  auto [nh, nw] = cover_size(x.size(1), x.size(2), t.height, t.width);
  if (nh * nw > kMaxImagePixels) {
    fail_input(path, std::to_string(x.size(2)) + " x " + std::to_string(x.size(1)) +
                         " pixels cannot be scaled to cover " + std::to_string(t.width) + " x " +
                         std::to_string(t.height) + " within the pixel limit (aspect ratio)");
  }
  namespace F = torch::nn::functional;
  torch::Tensor y = F::interpolate(x.unsqueeze(0), F::InterpolateFuncOptions()
                                                       .size(std::vector<int64_t>{nh, nw})
                                                       .mode(torch::kBilinear)
                                                       .align_corners(false)
                                                       .antialias(true))
                        .squeeze(0)
                        .clamp_(0.0, 1.0);  // antialiasing weights can overshoot slightly
  return y.narrow(1, (nh - t.height) / 2, t.height).narrow(2, (nw - t.width) / 2, t.width);
}

}  // namespace

RawImage decode_image_bytes(const std::string& bytes, const std::string& path) {
  if (bytes.empty()) fail_input(path, "empty file, not an image");
  if (bytes.size() >= 8 && bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0) {
    return decode_png(bytes, path);
  }
  if (bytes.size() >= 3 && bytes.compare(0, 3, "\xff\xd8\xff") == 0)
    return decode_jpeg(bytes, path);
  fail_input(path, "not a PNG or JPEG image (neither signature at the start)");
}

torch::Tensor fit_image(const RawImage& image, const ImageTarget& t, const std::string& path) {
  check_channels(image, t, path);
  auto* pixels = const_cast<uint8_t*>(image.pixels.data());  // read only: .to() copies
  torch::Tensor x =
      torch::from_blob(pixels, {image.height, image.width, image.channels}, torch::kUInt8)
          .permute({2, 0, 1})
          .to(torch::kFloat32)
          .div_(255.0);
  if (image.height != t.height || image.width != t.width) x = resize_and_crop(x, t, path);
  if (x.size(0) != t.channels) x = x.expand({t.channels, -1, -1});
  return x.contiguous();
}

torch::Tensor decode_image(const std::string& path, const ImageTarget& target) {
  return fit_image(decode_image_bytes(read_file(path), path), target, path);
}

}  // namespace ds
