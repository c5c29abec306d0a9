// Minimal PNG encoder for exporting key inputs as images (8-bit gray or RGB).
#pragma once

#include <torch/torch.h>

#include <string>

namespace ds {

// Encodes a C x H x W float image in [0, 1] (C = 1 or 3) as PNG bytes.
std::string encode_png(const torch::Tensor& image);

}  // namespace ds
