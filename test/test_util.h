// Helpers shared by the unit tests: temporary folders and small synthetic datasets.
#pragma once

#include <torch/torch.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "core/runtime.h"
#include "data/data_spec.h"
#include "data/readers.h"

namespace ds::testing {

// The two tensors have the same shape, dtype and bytes.
inline bool same_bits(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.sizes() != b.sizes() || a.scalar_type() != b.scalar_type()) return false;
  torch::Tensor x = a.contiguous(), y = b.contiguous();
  return std::memcmp(x.data_ptr(), y.data_ptr(), size_t(x.nbytes())) == 0;
}

// A fresh folder under the system temp dir, removed when the object goes away.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ds-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A learnable toy problem: the class decides which image quadrant is bright.
inline Dataset quadrant_dataset(int64_t n, uint64_t seed, int64_t channels = 1, int64_t side = 28) {
  torch::manual_seed(seed);
  Dataset d;
  d.labels = torch::randint(0, 4, {n}, torch::kInt64);
  d.images = torch::rand({n, channels, side, side}) * 0.3;
  int64_t h = side / 2;
  for (int64_t i = 0; i < n; ++i) {
    int64_t q = d.labels[i].item<int64_t>();
    d.images[i].narrow(1, (q / 2) * h, h).narrow(2, (q % 2) * h, h).add_(0.6);
  }
  d.num_classes = 4;
  d.source = "synthetic";
  return d;
}

}  // namespace ds::testing
