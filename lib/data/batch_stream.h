// Loads an epoch's batches ahead of the training loop: background threads read or decode the
// batches in the order given, at most a few ahead, so loading overlaps the steps and memory
// holds only those batches. The batches, and so the model, are the same as loading in place.
#pragma once

#include <torch/torch.h>

#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "data/dataset.h"

namespace ds {

class BatchStream {
 public:
  // `batches`: the dataset indices of each batch, in the order they will be asked for. With
  // `threads` 0 every batch is loaded by next() itself.
  BatchStream(const Dataset& data, std::vector<torch::Tensor> batches, int threads, int depth);
  ~BatchStream();
  BatchStream(const BatchStream&) = delete;
  BatchStream& operator=(const BatchStream&) = delete;

  // The images of the next batch; rethrows what its loader threw.
  torch::Tensor next();
  // Seconds next() spent waiting for a batch not loaded yet.
  double wait_seconds() const { return wait_seconds_; }
  // Seconds spent loading, summed over the loader threads (their throughput: samples / this).
  double load_seconds();

 private:
  void work();

  const Dataset& data_;
  std::vector<torch::Tensor> batches_;
  size_t depth_;
  std::mutex mutex_;
  std::condition_variable changed_;
  size_t claimed_ = 0, consumed_ = 0;
  bool stopping_ = false;
  std::map<size_t, torch::Tensor> ready_;
  std::map<size_t, std::exception_ptr> failed_;
  std::vector<std::thread> threads_;
  double wait_seconds_ = 0.0;
  double load_seconds_ = 0.0;
};

}  // namespace ds
