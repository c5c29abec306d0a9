// The model zoo: MLP, CNN and Wide ResNet authored in C++ as TorchScript modules. Every model
// takes pixels in [0, 1] (normalisation is a buffer inside the model), has PyTorch-style
// parameter names, and exports `taps(x) -> Dict[str, Tensor]` with its named activations.
#pragma once

#include <torch/script.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"
#include "model/model_io.h"

namespace ds {

struct ArchSpec {
  std::string arch = "mlp";  // mlp | cnn | wrn | torchscript (a user's model, trained as it is)
  // mlp: hidden widths (the paper's MNIST MLP is 512, 512); cnn: dense layer widths (512: a
  // 128-wide layer leaves a class only ~40-80 active ReLU units, too few to carry 64 bits; the
  // white-box embedding stalled at BER 0.14 there and reached 0 in one epoch at 512).
  std::vector<int64_t> hidden = {512, 512};
  // cnn: output channels of each 3x3 conv block (each block halves the resolution).
  std::vector<int64_t> channels = {32, 64};
  bool batch_norm = true;  // cnn: batch norm after each conv
  int64_t depth = 16;      // wrn: total depth, 6n + 4
  int64_t widen = 4;       // wrn: width multiplier k
  double dropout = 0.2;    // dropout after hidden layers (mlp, cnn) or inside blocks (wrn)
  std::string path;        // torchscript: the model file (with a taps method) to start from
};

// What the data looks like: fixes the input layer, the classifier and the normalisation.
struct InputSpec {
  std::vector<int64_t> shape;  // C, H, W
  int64_t num_classes = 10;
  std::vector<double> mean;    // per channel
  std::vector<double> std;     // per channel
};

ArchSpec parse_arch_spec(ConfigObject obj);
Json arch_spec_to_json(const ArchSpec& spec);

// Builds a freshly initialised model; `seed` fixes the initial weights. For "torchscript", the
// model at arch.path as start_from makes it.
torch::jit::Module build_model(const ArchSpec& arch, const InputSpec& input, uint64_t seed);
// A copy of a user's loaded model with its own weights, in training mode, checked against
// `input` (InputError naming the file when it does not run on the inputs, its output is not one
// logit per class, or it has no taps).
torch::jit::Module start_from(const LoadedModel& loaded, const InputSpec& input);

struct TapInfo {
  std::string name;
  std::vector<int64_t> shape;  // per sample
  int64_t width = 0;           // flattened size per sample
};

// Runs the model's `taps` method on one zero input of `input_shape` (eval mode, no grad).
std::vector<TapInfo> list_taps(torch::jit::Module& model, const std::vector<int64_t>& input_shape);

// Calls `taps(x)`; throws InputError naming `model_path` if the model has no such method.
c10::Dict<std::string, torch::Tensor> call_taps(torch::jit::Module& model, const torch::Tensor& x,
                                                const std::string& model_path);
// The tap's activations, flattened per sample; InputError naming `model_path` (and the taps it
// has) if the model lacks it.
torch::Tensor layer_activations(torch::jit::Module& model, const torch::Tensor& x,
                                const std::string& layer, const std::string& model_path);
// InputError naming `model_path` unless `width` (of tap `layer`) is the key's `expected`.
void check_tap_width(const std::string& model_path, const std::string& layer, int64_t width,
                     int64_t expected);

}  // namespace ds
