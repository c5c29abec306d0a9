// Decoding the chosen files of an image folder's index into an in-memory dataset.
#include "data/imagefolder_load.h"

#include <ATen/Parallel.h>
#include <spdlog/spdlog.h>

#include <filesystem>

#include "core/errors.h"
#include "core/files.h"
#include "core/sha256.h"
#include "data/image_decode.h"
#include "data/imagefolder.h"

namespace ds {
namespace {

// Skipped files named in the log before only the count is given.
constexpr int64_t kSkipsLogged = 10;

// What decoding one file gave: its content hash, or why it failed.
struct Outcome {
  std::string hash;
  std::string error;
};

void decode_into(const ImageEntry& e, const ImageTarget& t, torch::Tensor row, Outcome& out) {
  try {
    std::string bytes = read_file(e.path);
    out.hash = sha256_hex(bytes);
    row.copy_(fit_image(decode_image_bytes(bytes, e.path), t, e.path));
  } catch (const InputError& err) {
    out.error = err.what();
  }
}

std::string relative_name(const ImageIndex& index, const ImageEntry& e) {
  return index.classes[size_t(e.label)] + "/" + std::filesystem::path(e.path).filename().string();
}

// Decodes every entry; failures stop the load at the first in index order (whatever the thread
// count) or, with skip_bad, are left out and counted.
Dataset decode_all(const ImageIndex& index, const ImageTarget& t, bool skip_bad, Sha256& digest,
                   int64_t& skipped) {
  int64_t n = int64_t(index.entries.size());
  torch::Tensor images = torch::empty({n, t.channels, t.height, t.width}, torch::kFloat32);
  std::vector<Outcome> outcomes(static_cast<size_t>(n));
  at::parallel_for(0, n, 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      decode_into(index.entries[size_t(i)], t, images[i], outcomes[size_t(i)]);
    }
  });
  std::vector<int64_t> kept, labels;
  for (int64_t i = 0; i < n; ++i) {
    const ImageEntry& e = index.entries[size_t(i)];
    const Outcome& o = outcomes[size_t(i)];
    digest.update(relative_name(index, e) + "\t" + std::to_string(e.label) + "\t" + o.hash + "\n");
    if (o.error.empty()) {
      kept.push_back(i);
      labels.push_back(e.label);
      continue;
    }
    if (!skip_bad) throw InputError(o.error);
    if (skipped++ < kSkipsLogged) spdlog::warn("skipped (data.skip_bad): {}", o.error);
  }
  if (n > 0 && kept.empty()) fail_input(index.root, "no readable images among those chosen");
  Dataset d;
  d.images = int64_t(kept.size()) == n ? images : images.index_select(0, torch::tensor(kept));
  d.labels = torch::tensor(labels, torch::kInt64);
  d.num_classes = int64_t(index.classes.size());
  d.source = index.root;
  return d;
}

// An image folder's chosen files decoded on demand; a bad file fails the load naming it.
class ImageFolderSource : public SampleSource {
 public:
  ImageFolderSource(ImageIndex index, ImageTarget target)
      : index_(std::move(index)), target_(std::move(target)) {}
  int64_t size() const override { return int64_t(index_.entries.size()); }
  std::vector<int64_t> sample_shape() const override {
    return {target_.channels, target_.height, target_.width};
  }
  std::string describe() const override { return index_.root; }
  torch::Tensor load(const torch::Tensor& indices) const override {
    torch::Tensor idx = indices.contiguous();
    const int64_t n = idx.numel();
    torch::Tensor out = torch::empty({n, target_.channels, target_.height, target_.width});
    const int64_t* p = idx.data_ptr<int64_t>();
    for (int64_t i = 0; i < n; ++i) out[i].copy_(decode_image(index_.entries[size_t(p[i])].path, target_));
    count_loaded(n);
    return out;
  }

 private:
  ImageIndex index_;
  ImageTarget target_;
};

Dataset streamed(const ImageIndex& index, const ImageTarget& t, Sha256& digest) {
  Dataset d;
  std::vector<int64_t> labels;
  for (const auto& e : index.entries) {
    labels.push_back(e.label);
    digest.update(relative_name(index, e) + "\t" + std::to_string(e.label) + "\t" +
                  std::to_string(std::filesystem::file_size(e.path)) + "\n");
  }
  d.labels = torch::tensor(labels, torch::kInt64);
  d.num_classes = int64_t(index.classes.size());
  d.source = index.root;
  d.stream = std::make_shared<ImageFolderSource>(index, t);
  d.rows = torch::arange(d.size(), torch::kInt64);
  return d;
}

}  // namespace

DataSplits stream_image_splits(const ImageIndex& train, const ImageIndex& test,
                               const ImageTarget& target) {
  DataSplits out;
  Sha256 h;
  out.train = streamed(train, target, h);
  out.test = streamed(test, target, h);
  out.digest = h.hex_digest();
  return out;
}

ImageTarget choose_target(const std::vector<int64_t>& shape, const ImageIndex& train,
                          bool skip_bad) {
  if (!shape.empty()) return {shape[0], shape[1], shape[2], true, "data.shape"};
  for (const auto& e : train.entries) {
    try {
      RawImage im = decode_image_bytes(read_file(e.path), e.path);
      return {im.channels, im.height, im.width, false, "the first image, " + e.path + ","};
    } catch (const InputError&) {
      if (!skip_bad) throw;
    }
  }
  fail_input(train.root, "holds no readable image to take the shape from");
}

DataSplits decode_image_splits(const ImageIndex& train, const ImageIndex& test,
                               const ImageTarget& target, bool skip_bad) {
  DataSplits out;
  Sha256 h;
  int64_t skipped = 0;
  out.train = decode_all(train, target, skip_bad, h, skipped);
  out.test = decode_all(test, target, skip_bad, h, skipped);
  out.digest = h.hex_digest();
  if (skip_bad) {
    out.skipped_files = skipped;
    if (skipped > 0) {
      spdlog::warn("{}: skipped {} unreadable image(s) (data.skip_bad)", train.root, skipped);
    }
  }
  return out;
}

}  // namespace ds
