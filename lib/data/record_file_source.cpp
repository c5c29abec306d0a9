// Reads fixed-size records at their offsets with pread (see record_file_source.h).
#include "data/record_file_source.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/errors.h"

namespace ds {
namespace {

class RecordFiles : public SampleSource {
 public:
  RecordFiles(const std::vector<std::string>& paths, const std::vector<RecordLayout>& layouts)
      : paths_(paths), layouts_(layouts) {
    for (size_t f = 0; f < paths.size(); ++f) {
      int fd = ::open(paths[f].c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) fail_input(paths[f], std::string("cannot open: ") + std::strerror(errno));
      fds_.push_back(fd);
      const RecordLayout& l = layouts[f];
      const off_t end = ::lseek(fd, 0, SEEK_END);
      if (end < 0 || uint64_t(end) < l.header_bytes + uint64_t(l.count) * l.record_bytes) {
        fail_input(paths[f], "truncated: shorter than its " + std::to_string(l.count) + " records");
      }
      starts_.push_back(total_);
      total_ += l.count;
    }
    if (layouts.empty() || layouts[0].shape.size() != 3) throw std::logic_error("record layout");
    for (int64_t d : layouts[0].shape) sample_bytes_ *= uint64_t(d);
  }
  ~RecordFiles() override {
    for (int fd : fds_) ::close(fd);
  }

  int64_t size() const override { return total_; }
  std::vector<int64_t> sample_shape() const override { return layouts_[0].shape; }
  std::string describe() const override { return paths_.front(); }

  torch::Tensor load(const torch::Tensor& indices) const override {
    torch::Tensor idx = indices.contiguous();
    const int64_t n = idx.numel();
    std::vector<int64_t> shape = {n};
    shape.insert(shape.end(), layouts_[0].shape.begin(), layouts_[0].shape.end());
    torch::Tensor bytes = torch::empty(shape, torch::kUInt8);
    uint8_t* out = bytes.data_ptr<uint8_t>();
    const int64_t* p = idx.data_ptr<int64_t>();
    for (int64_t i = 0; i < n; ++i) read_sample(p[i], out + uint64_t(i) * sample_bytes_);
    count_loaded(n);
    // The same conversion as the in-memory readers, so the pixels are bit for bit equal.
    return bytes.to(torch::kFloat32).div_(255.0);
  }

 private:
  void read_sample(int64_t index, uint8_t* out) const {
    size_t f = 0;
    while (f + 1 < starts_.size() && index >= starts_[f + 1]) ++f;
    const RecordLayout& l = layouts_[f];
    const uint64_t at = l.header_bytes + uint64_t(index - starts_[f]) * l.record_bytes + l.pixel_offset;
    uint64_t done = 0;
    while (done < sample_bytes_) {
      ssize_t got = ::pread(fds_[f], out + done, sample_bytes_ - done, off_t(at + done));
      if (got <= 0) {
        if (got < 0 && errno == EINTR) continue;
        fail_input(paths_[f], "read failed at byte " + std::to_string(at + done) +
                                  (got == 0 ? ": the file shrank" : ": " + std::string(std::strerror(errno))));
      }
      done += uint64_t(got);
    }
  }

  std::vector<std::string> paths_;
  std::vector<RecordLayout> layouts_;
  std::vector<int> fds_;
  std::vector<int64_t> starts_;
  int64_t total_ = 0;
  uint64_t sample_bytes_ = 1;
};

}  // namespace

std::shared_ptr<SampleSource> open_record_files(const std::vector<std::string>& paths,
                                                const std::vector<RecordLayout>& layouts) {
  return std::make_shared<RecordFiles>(paths, layouts);
}

}  // namespace ds
