// Dataset readers. Every header size is checked against the bytes actually present before a
// tensor is allocated, so a corrupt header cannot trigger a huge allocation.
#include "data.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "archive_check.h"
#include "errors.h"
#include "files.h"
#include "sha256.h"

namespace ds {
namespace fs = std::filesystem;

namespace {

// Decompressed files larger than this are refused (the largest real IDX file is ~50 MB).
constexpr uint64_t kMaxDecodedBytes = uint64_t(4) << 30;

// Reads a file, transparently gunzipping it when it starts with the gzip magic.
std::string read_maybe_gzip(const std::string& path) {
  std::string raw = read_file(path);
  if (raw.size() < 2 || uint8_t(raw[0]) != 0x1f || uint8_t(raw[1]) != 0x8b) return raw;
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) fail_input(path, "cannot initialise gzip decoder");
  zs.next_in = reinterpret_cast<Bytef*>(raw.data());
  zs.avail_in = static_cast<uInt>(raw.size());
  std::string out;
  std::vector<char> chunk(1 << 20);
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(chunk.data());
    zs.avail_out = static_cast<uInt>(chunk.size());
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      fail_input(path, rc == Z_BUF_ERROR ? "truncated gzip stream" : "corrupt gzip stream");
    }
    out.append(chunk.data(), chunk.size() - zs.avail_out);
    if (out.size() > kMaxDecodedBytes) {
      inflateEnd(&zs);
      fail_input(path, "decompresses to more than 4 GiB; refusing");
    }
  }
  inflateEnd(&zs);
  return out;
}

uint32_t be32(const std::string& s, size_t off) {
  return (uint32_t(uint8_t(s[off])) << 24) | (uint32_t(uint8_t(s[off + 1])) << 16) |
         (uint32_t(uint8_t(s[off + 2])) << 8) | uint32_t(uint8_t(s[off + 3]));
}

struct IdxArray {
  std::vector<int64_t> dims;
  std::string bytes;  // the whole file; payload starts at `offset`
  size_t offset = 0;
};

IdxArray read_idx(const std::string& path, int expected_dims, const char* what) {
  IdxArray a;
  a.bytes = read_maybe_gzip(path);
  const std::string& b = a.bytes;
  if (b.size() < 4) fail_input(path, "truncated IDX file (no header)");
  if (b[0] != 0 || b[1] != 0) {
    std::ostringstream ss;
    ss << "wrong magic 0x" << std::hex << be32(b, 0) << ", not an IDX file";
    fail_input(path, ss.str());
  }
  if (uint8_t(b[2]) != 0x08) {
    fail_input(path, "IDX element type " + std::to_string(uint8_t(b[2])) +
                         " is not supported (only unsigned bytes, 0x08)");
  }
  int ndims = uint8_t(b[3]);
  if (ndims != expected_dims) {
    std::ostringstream ss;
    ss << "wrong magic 0x" << std::hex << be32(b, 0) << ": expected IDX " << what << " with "
       << std::dec << expected_dims << " dimension(s), file has " << ndims;
    fail_input(path, ss.str());
  }
  size_t header = 4 + 4 * size_t(ndims);
  if (b.size() < header) fail_input(path, "truncated IDX header");
  uint64_t count = 1;
  for (int i = 0; i < ndims; ++i) {
    uint32_t d = be32(b, 4 + 4 * i);
    if (d == 0) fail_input(path, "IDX dimension " + std::to_string(i) + " is zero");
    a.dims.push_back(d);
    count *= d;
    if (count > kMaxDecodedBytes) fail_input(path, "IDX header declares an absurd size");
  }
  uint64_t have = b.size() - header;
  if (have < count) {
    fail_input(path, "truncated: header declares " + std::to_string(count) + " bytes of data, " +
                         std::to_string(have) + " present");
  }
  if (have > count) {
    fail_input(path, "trailing data: header declares " + std::to_string(count) + " bytes, " +
                         std::to_string(have) + " present");
  }
  a.offset = header;
  return a;
}

torch::Tensor bytes_to_tensor(const std::string& bytes, size_t offset, std::vector<int64_t> shape) {
  auto t = torch::empty(shape, torch::kUInt8);
  std::memcpy(t.data_ptr<uint8_t>(), bytes.data() + offset, size_t(t.numel()));
  return t;
}

void check_labels(const std::string& path, const torch::Tensor& labels, int64_t num_classes) {
  if (labels.numel() == 0) return;
  int64_t lo = labels.min().item<int64_t>();
  int64_t hi = labels.max().item<int64_t>();
  if (lo < 0 || hi >= num_classes) {
    fail_input(path, "label out of range: found " + std::to_string(lo < 0 ? lo : hi) +
                         ", expected 0.." + std::to_string(num_classes - 1));
  }
}

std::string first_existing(const std::string& dir, const std::vector<std::string>& names) {
  for (const auto& n : names) {
    fs::path p = fs::path(dir) / n;
    if (fs::exists(p)) return p.string();
  }
  fail_input((fs::path(dir) / names.front()).string(),
             "no such file (also tried " + names.back() + ")");
}

}  // namespace

std::vector<int64_t> Dataset::sample_shape() const {
  auto s = images.sizes();
  return std::vector<int64_t>(s.begin() + 1, s.end());
}

Dataset load_idx(const std::string& images_path, const std::string& labels_path,
                 int64_t num_classes) {
  IdxArray im = read_idx(images_path, 3, "images");
  IdxArray lb = read_idx(labels_path, 1, "labels");
  if (im.dims[0] != lb.dims[0]) {
    fail_input(labels_path, "holds " + std::to_string(lb.dims[0]) + " labels but " + images_path +
                                " holds " + std::to_string(im.dims[0]) + " images");
  }
  Dataset d;
  d.images = bytes_to_tensor(im.bytes, im.offset, {im.dims[0], 1, im.dims[1], im.dims[2]})
                 .to(torch::kFloat32)
                 .div_(255.0);
  d.labels = bytes_to_tensor(lb.bytes, lb.offset, {lb.dims[0]}).to(torch::kInt64);
  check_labels(labels_path, d.labels, num_classes);
  d.num_classes = num_classes;
  d.source = images_path;
  return d;
}

Dataset load_cifar(const std::vector<std::string>& files, bool cifar100) {
  const size_t label_bytes = cifar100 ? 2 : 1;
  const size_t record = label_bytes + 3 * 32 * 32;
  const int64_t classes = cifar100 ? 100 : 10;
  std::vector<torch::Tensor> images, labels;
  for (const auto& path : files) {
    std::string b = read_file(path);
    if (b.empty() || b.size() % record != 0) {
      fail_input(path, "truncated or not a CIFAR-" + std::to_string(classes) +
                           " binary batch: size " + std::to_string(b.size()) +
                           " is not a multiple of the record size " + std::to_string(record));
    }
    int64_t n = int64_t(b.size() / record);
    auto raw = bytes_to_tensor(b, 0, {n, int64_t(record)});
    auto lab = raw.select(1, int64_t(label_bytes) - 1).to(torch::kInt64);
    check_labels(path, lab, classes);
    labels.push_back(lab);
    images.push_back(raw.narrow(1, int64_t(label_bytes), 3 * 32 * 32)
                         .reshape({n, 3, 32, 32})
                         .to(torch::kFloat32)
                         .div_(255.0));
  }
  Dataset d;
  d.images = torch::cat(images);
  d.labels = torch::cat(labels);
  d.num_classes = classes;
  d.source = files.front();
  return d;
}

Dataset load_tensor_file(const std::string& path) {
  std::string raw = read_file(path);
  check_pickle_archive(raw, path);  // before LibTorch's reader sees it (archive_check.h)
  c10::IValue v;
  try {
    std::vector<char> bytes(raw.begin(), raw.end());
    v = torch::pickle_load(bytes);
  } catch (const std::exception& e) {
    std::string why = e.what();
    why = why.substr(0, why.find('\n'));
    // LibTorch's unpickler lacks the opcode Python uses for a one-entry dict (SETITEM).
    if (why.find("Unknown opcode") != std::string::npos && why.find(": 115") != std::string::npos) {
      fail_input(path, "cannot read a dict with a single entry (LibTorch's unpickler): save "
                       "{'x': images, 'y': labels}");
    }
    fail_input(path, "not readable as a torch.save file (" + why + ")");
  }
  if (!v.isGenericDict()) fail_input(path, "expected a dict {'x': images, 'y': labels}");
  auto dict = v.toGenericDict();
  auto get = [&](const char* key) -> c10::IValue {
    for (const auto& kv : dict) {
      if (kv.key().isString() && kv.key().toStringRef() == key) return kv.value();
    }
    return c10::IValue();
  };
  c10::IValue x = get("x"), y = get("y"), classes = get("classes");
  if (!x.isTensor() || !y.isTensor()) {
    fail_input(path, "expected a dict {'x': images, 'y': labels} of tensors");
  }
  torch::Tensor images = x.toTensor(), labels = y.toTensor();
  check_tensor_storage(images, path, "'x'");
  check_tensor_storage(labels, path, "'y'");
  if (images.dim() == 3) images = images.unsqueeze(1);
  if (images.dim() != 4) {
    fail_input(path, "'x' must be N x H x W or N x C x H x W, got " +
                         std::to_string(images.dim()) + " dimensions");
  }
  if (labels.dim() != 1 || labels.is_floating_point() || labels.scalar_type() == torch::kBool) {
    fail_input(path, "'y' must be a 1-D integer tensor of labels");
  }
  if (images.size(0) != labels.size(0)) {
    fail_input(path, "'x' holds " + std::to_string(images.size(0)) + " images but 'y' holds " +
                         std::to_string(labels.size(0)) + " labels");
  }
  if (images.size(0) == 0) fail_input(path, "holds no samples");
  if (images.scalar_type() == torch::kUInt8) {
    images = images.to(torch::kFloat32).div_(255.0);
  } else if (images.is_floating_point()) {
    images = images.to(torch::kFloat32).contiguous();
    double lo = images.min().item<double>(), hi = images.max().item<double>();
    if (!(lo >= 0.0 && hi <= 1.0)) {
      fail_input(path, "float images must be scaled to [0, 1], found values in [" +
                           std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
  } else {
    fail_input(path, "'x' must be uint8 (0..255) or float in [0, 1]");
  }
  labels = labels.to(torch::kInt64).contiguous();
  int64_t num_classes = classes.isInt() ? classes.toInt() : labels.max().item<int64_t>() + 1;
  if (num_classes < 2) fail_input(path, "needs at least 2 classes");
  check_labels(path, labels, num_classes);
  Dataset d;
  d.images = images.contiguous();
  d.labels = labels;
  d.num_classes = num_classes;
  d.source = path;
  return d;
}

std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed) {
  std::vector<int64_t> p(size_t(std::max<int64_t>(n, 0)));
  for (int64_t i = 0; i < n; ++i) p[size_t(i)] = i;
  std::mt19937_64 rng(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    int64_t j = int64_t(rng() % uint64_t(i + 1));
    std::swap(p[size_t(i)], p[size_t(j)]);
  }
  return p;
}

Dataset take(const Dataset& d, const torch::Tensor& indices) {
  Dataset out;
  out.images = d.images.index_select(0, indices);
  out.labels = d.labels.index_select(0, indices);
  out.num_classes = d.num_classes;
  out.source = d.source;
  return out;
}

namespace {
torch::Tensor first_k_sorted(const std::vector<int64_t>& perm, int64_t k) {
  std::vector<int64_t> idx(perm.begin(), perm.begin() + k);
  std::sort(idx.begin(), idx.end());
  return torch::tensor(idx, torch::kInt64);
}
}  // namespace

Dataset subset(const Dataset& d, double fraction, uint64_t seed) {
  if (fraction >= 1.0) return d;
  int64_t k = std::max<int64_t>(1, int64_t(std::llround(fraction * double(d.size()))));
  return take(d, first_k_sorted(seeded_permutation(d.size(), seed), k));
}

std::pair<Dataset, Dataset> split(const Dataset& d, double holdout_fraction, uint64_t seed) {
  int64_t n = d.size();
  int64_t k = int64_t(std::llround(holdout_fraction * double(n)));
  if (k < 1 || k >= n) {
    fail_input(d.source, "cannot hold out " + std::to_string(holdout_fraction) + " of " +
                             std::to_string(n) + " samples as a test set");
  }
  auto perm = seeded_permutation(n, seed);
  std::vector<int64_t> rest(perm.begin() + k, perm.end());
  std::sort(rest.begin(), rest.end());
  return {take(d, torch::tensor(rest, torch::kInt64)), take(d, first_k_sorted(perm, k))};
}

ChannelStats channel_stats(const Dataset& d) {
  // Chunked, with double accumulators: no full-size temporary copy of the images.
  int64_t channels = d.images.size(1);
  std::vector<double> sum(size_t(channels), 0.0), sumsq(size_t(channels), 0.0);
  const int64_t chunk = 4096;
  for (int64_t s = 0; s < d.size(); s += chunk) {
    torch::Tensor x = d.images.narrow(0, s, std::min(chunk, d.size() - s)).to(torch::kFloat64);
    torch::Tensor per_channel = x.transpose(0, 1).reshape({channels, -1});
    torch::Tensor s1 = per_channel.sum(1), s2 = per_channel.pow(2).sum(1);
    for (int64_t c = 0; c < channels; ++c) {
      sum[size_t(c)] += s1[c].item<double>();
      sumsq[size_t(c)] += s2[c].item<double>();
    }
  }
  double n = double(d.images.numel() / std::max<int64_t>(channels, 1));
  ChannelStats stats;
  for (int64_t c = 0; c < channels; ++c) {
    double mean = sum[size_t(c)] / n;
    double var = std::max(0.0, (sumsq[size_t(c)] - n * mean * mean) / std::max(1.0, n - 1));
    stats.mean.push_back(mean);
    stats.std.push_back(std::max(std::sqrt(var), 1e-6));
  }
  return stats;
}

DataSpec parse_data_spec(ConfigObject obj) {
  DataSpec s;
  s.format = obj.get_choice("format", s.format, {"idx", "cifar10", "cifar100", "tensor"});
  s.path = obj.get_string("path", s.format == "idx" ? s.path : "");
  if (s.path.empty()) obj.fail("path", "is required for format '" + s.format + "'");
  s.test_path = obj.get_string("test_path", "");
  s.holdout_fraction = obj.get_fraction("holdout_fraction", s.holdout_fraction, false);
  s.train_fraction = obj.get_fraction("train_fraction", s.train_fraction, false);
  s.test_fraction = obj.get_fraction("test_fraction", s.test_fraction, false);
  s.seed = obj.get_seed("seed", 0);
  obj.finish();
  return s;
}

Json data_spec_to_json(const DataSpec& s) {
  return Json{{"format", s.format},
              {"path", s.path},
              {"test_path", s.test_path},
              {"holdout_fraction", s.holdout_fraction},
              {"train_fraction", s.train_fraction},
              {"test_fraction", s.test_fraction},
              {"seed", s.seed}};
}

DataSplits load_data(const DataSpec& spec) {
  DataSplits out;
  if (spec.format == "idx") {
    if (!fs::is_directory(spec.path)) fail_input(spec.path, "not a folder of IDX files");
    auto f = [&](const std::string& stem) {
      return first_existing(spec.path, {stem + ".gz", stem});
    };
    out.files = {f("train-images-idx3-ubyte"), f("train-labels-idx1-ubyte"),
                 f("t10k-images-idx3-ubyte"), f("t10k-labels-idx1-ubyte")};
    out.train = load_idx(out.files[0], out.files[1]);
    out.test = load_idx(out.files[2], out.files[3]);
  } else if (spec.format == "cifar10" || spec.format == "cifar100") {
    if (!fs::is_directory(spec.path)) fail_input(spec.path, "not a folder of CIFAR binary files");
    bool c100 = spec.format == "cifar100";
    std::vector<std::string> train_files;
    if (c100) {
      train_files = {first_existing(spec.path, {"train.bin"})};
    } else {
      for (int i = 1; i <= 5; ++i) {
        train_files.push_back(first_existing(spec.path, {"data_batch_" + std::to_string(i) + ".bin"}));
      }
    }
    std::string test_file = first_existing(spec.path, {c100 ? "test.bin" : "test_batch.bin"});
    out.train = load_cifar(train_files, c100);
    out.test = load_cifar({test_file}, c100);
    out.files = train_files;
    out.files.push_back(test_file);
  } else {
    Dataset all = load_tensor_file(spec.path);
    out.files = {spec.path};
    if (!spec.test_path.empty()) {
      out.train = all;
      out.test = load_tensor_file(spec.test_path);
      out.files.push_back(spec.test_path);
      if (out.test.sample_shape() != out.train.sample_shape()) {
        fail_input(spec.test_path, "image shape differs from the training file " + spec.path);
      }
      int64_t classes = std::max(out.train.num_classes, out.test.num_classes);
      out.train.num_classes = out.test.num_classes = classes;
    } else {
      std::tie(out.train, out.test) = split(all, spec.holdout_fraction, spec.seed);
    }
  }
  out.train = subset(out.train, spec.train_fraction, spec.seed);
  out.test = subset(out.test, spec.test_fraction, spec.seed + 1);
  Sha256 h;
  for (const auto& f : out.files) h.update(sha256_file(f));
  h.update(data_spec_to_json(spec).dump());
  out.digest = h.hex_digest();
  return out;
}

void write_idx_images(const std::string& path, const torch::Tensor& images_u8) {
  auto t = images_u8.contiguous();
  std::string b = {0, 0, 8, 3};
  for (int i = 0; i < 3; ++i) {
    uint32_t d = uint32_t(t.size(i));
    for (int k = 3; k >= 0; --k) b.push_back(char((d >> (8 * k)) & 0xff));
  }
  b.append(reinterpret_cast<const char*>(t.data_ptr<uint8_t>()), size_t(t.numel()));
  write_file_atomically(path, b);
}

void write_idx_labels(const std::string& path, const torch::Tensor& labels) {
  auto t = labels.to(torch::kUInt8).contiguous();
  std::string b = {0, 0, 8, 1};
  uint32_t n = uint32_t(t.size(0));
  for (int k = 3; k >= 0; --k) b.push_back(char((n >> (8 * k)) & 0xff));
  b.append(reinterpret_cast<const char*>(t.data_ptr<uint8_t>()), size_t(t.numel()));
  write_file_atomically(path, b);
}

}  // namespace ds
