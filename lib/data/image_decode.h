// One image file to a float C x H x W tensor of a target shape: the unit of work a loader calls
// per sample, so a streaming loader can decode lazily what load_data decodes up front.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "data/image_codecs.h"

namespace ds {

// The shape every image of a dataset is fitted to, and how strict the fitting is.
struct ImageTarget {
  int64_t channels = 0, height = 0, width = 0;
  // Whether a gray image may fill a 3-channel target by repeating its channel. True when the
  // user asked for the shape (data.shape); false when the target is the first image's, where a
  // different channel count means the folder mixes gray and colour without saying what it wants.
  bool replicate_gray = true;
  // Where the target came from, for messages: "data.shape" or "the first image, PATH".
  std::string origin;
};

// PNG or JPEG, chosen by the first bytes (not the extension); InputError names `path` otherwise.
RawImage decode_image_bytes(const std::string& bytes, const std::string& path);

// The image as floats in [0, 1] in the target's shape: gray repeated into three channels when
// allowed, then resized bilinearly (antialiased) so that it covers the target, then cropped to
// the target around its centre.
torch::Tensor fit_image(const RawImage& image, const ImageTarget& target, const std::string& path);

// Reads, decodes and fits one file.
torch::Tensor decode_image(const std::string& path, const ImageTarget& target);

}  // namespace ds
