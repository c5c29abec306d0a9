// Background loading of an epoch's batches with bounded prefetch (see batch_stream.h).
#include "data/batch_stream.h"

#include <chrono>

namespace ds {

BatchStream::BatchStream(const Dataset& data, std::vector<torch::Tensor> batches, int threads,
                         int depth)
    : data_(data), batches_(std::move(batches)), depth_(size_t(std::max(1, depth))) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
}

BatchStream::~BatchStream() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (auto& t : threads_) t.join();
}

void BatchStream::work() {
  for (;;) {
    size_t b;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [&] {
        return stopping_ || (claimed_ < batches_.size() && claimed_ < consumed_ + depth_);
      });
      if (stopping_) return;
      b = claimed_++;
    }
    torch::Tensor x;
    std::exception_ptr error;
    auto start = std::chrono::steady_clock::now();
    try {
      x = data_.images_at(batches_[b]);
    } catch (...) {
      error = std::current_exception();
    }
    double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      load_seconds_ += took;
      if (error) failed_[b] = error; else ready_[b] = x;
    }
    changed_.notify_all();
  }
}

double BatchStream::load_seconds() {
  std::lock_guard<std::mutex> lock(mutex_);
  return load_seconds_;
}

torch::Tensor BatchStream::next() {
  if (consumed_ >= batches_.size()) throw std::logic_error("BatchStream: no batch left");
  if (threads_.empty()) return data_.images_at(batches_[consumed_++]);
  const size_t b = consumed_;
  std::unique_lock<std::mutex> lock(mutex_);
  auto start = std::chrono::steady_clock::now();
  changed_.wait(lock, [&] { return ready_.count(b) || failed_.count(b); });
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ++consumed_;
  changed_.notify_all();
  if (auto f = failed_.find(b); f != failed_.end()) std::rethrow_exception(f->second);
  torch::Tensor x = ready_[b];
  ready_.erase(b);
  return x;
}

}  // namespace ds
