// Images a dataset reads on demand instead of holding them (fixed-size records of an IDX or
// CIFAR file read at their offsets, or image files decoded): what lets a dataset be larger than
// memory. Labels always stay in memory; only pixels are read late.
#pragma once

#include <torch/torch.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace ds {

class SampleSource {
 public:
  virtual ~SampleSource() = default;
  virtual int64_t size() const = 0;
  virtual std::vector<int64_t> sample_shape() const = 0;  // C, H, W
  // Float N x C x H x W in [0, 1] of samples `indices` (int64), in that order, exactly as the
  // in-memory reader would give them. Safe to call from several threads at once.
  virtual torch::Tensor load(const torch::Tensor& indices) const = 0;
  virtual std::string describe() const = 0;  // for messages: the file or folder

  // Samples loaded so far by this process (a data-parallel rank counts only its own).
  int64_t loaded() const { return loaded_.load(); }

  // How the training loop reads it: background loader threads, batches loaded ahead.
  int loader_threads = 2;
  int prefetch_batches = 4;

 protected:
  void count_loaded(int64_t n) const { loaded_ += n; }

 private:
  mutable std::atomic<int64_t> loaded_{0};
};

}  // namespace ds
