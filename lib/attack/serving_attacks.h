// Attacks on the serving path: the thief keeps the weights untouched and filters every input
// before the model sees it (box or Gaussian smoothing, a median filter, fewer bits per pixel,
// Gaussian noise, JPEG-like compression), which costs no training and can wash out key inputs
// that live in high frequencies. The suspect is wrapped, so that both verification modes
// (weights and taps, or query answers) see the filter.
#pragma once

#include <torch/script.h>

#include <cstdint>
#include <memory>
#include <string>

#include "attack/attack.h"

namespace ds {

struct InputFilter {
  std::string kind = "smooth";  // smooth (box mean) | gaussian | median | bits | noise | jpeg
  int64_t size = 3;             // smooth, median: odd window width
  double sigma = 0.5;           // gaussian: blur standard deviation in pixels
  int64_t bits = 4;             // bits: levels per pixel = 2^bits
  double scale = 0.05;          // noise: standard deviation of the Gaussian added (pixels in [0, 1])
  int64_t quality = 75;         // jpeg: IJG quality 1..100 of each channel's 8x8 DCT quantisation
};

// A new module that applies `filter` to its input, then runs a copy of `model`: forward and
// taps, so the key's layer is read behind the filter too.
torch::jit::Module serve_behind_filter(const torch::jit::Module& model, const InputFilter& filter);

// Registry parser of "preprocess".
std::unique_ptr<Attack> parse_preprocess_attack(ConfigObject& root, const Json&, const AttackSpec&);

}  // namespace ds
