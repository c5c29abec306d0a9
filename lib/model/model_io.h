// Loading and saving TorchScript models with their description ("deepsigns.json" inside the
// .pt archive: architecture, input shape, classes, normalisation, taps, provenance).
#pragma once

#include <torch/script.h>

#include <string>
#include <vector>

#include "core/config.h"

namespace ds {

// Name of the description file stored inside the model archive.
extern const char* const kModelInfoFile;

struct LoadedModel {
  torch::jit::Module module;
  Json info = Json::object();  // empty for a model made elsewhere
  std::string path;
  std::string sha256;

  // The input shape (C, H, W) recorded in the model, or throws InputError naming the file.
  std::vector<int64_t> input_shape() const;
  int64_t num_classes() const;
};

// Loads a model; every failure becomes an InputError naming the file.
LoadedModel load_model(const std::string& path);

// Saves atomically with `info` stored inside; the same module and info give the same bytes.
void save_model(const torch::jit::Module& module, const Json& info, const std::string& path);

// The parameter or buffer called `name` (dotted path, "fc1.weight"); undefined if none.
torch::Tensor find_tensor(const torch::jit::Module& module, const std::string& name);
// The same, or InputError("model has no parameter '<name>'").
torch::Tensor require_tensor(const torch::jit::Module& module, const std::string& name);

// A deep copy that shares no tensors with the original (for tools that edit weights).
torch::jit::Module clone_model(const torch::jit::Module& module);

}  // namespace ds
