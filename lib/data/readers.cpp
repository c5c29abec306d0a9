// Dataset readers and the IDX writer.
#include "data/readers.h"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/errors.h"
#include "core/files.h"
#include "data/archive_check.h"
#include "data/record_file_source.h"

namespace ds {
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

struct IdxHeader {
  std::vector<int64_t> dims;
  size_t offset = 0;  // where the payload starts
};

// Checks an IDX header (the file's first bytes, `head`) against the file's size, so a
// corrupt header is refused before anything is allocated.
IdxHeader parse_idx_header(const std::string& path, const std::string& b, uint64_t file_size,
                           int expected_dims, const char* what) {
  IdxHeader a;
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
  uint64_t have = file_size - header;
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

struct IdxArray {
  std::vector<int64_t> dims;
  std::string bytes;  // the whole file; payload starts at `offset`
  size_t offset = 0;
};

IdxArray read_idx(const std::string& path, int expected_dims, const char* what) {
  IdxArray a;
  a.bytes = read_maybe_gzip(path);
  IdxHeader h = parse_idx_header(path, a.bytes, a.bytes.size(), expected_dims, what);
  a.dims = h.dims;
  a.offset = h.offset;
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

void check_cifar_size(const std::string& path, size_t size, size_t record, int64_t classes) {
  if (size == 0 || size % record != 0) {
    fail_input(path, "truncated or not a CIFAR-" + std::to_string(classes) +
                         " binary batch: size " + std::to_string(size) +
                         " is not a multiple of the record size " + std::to_string(record));
  }
}

}  // namespace

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
    check_cifar_size(path, b.size(), record, classes);
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

namespace {

// The first `n` bytes of a file (fewer if it is shorter).
std::string read_head(const std::string& path, size_t n) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_input(path, "cannot open");
  std::string b(n, '\0');
  in.read(b.data(), std::streamsize(n));
  b.resize(size_t(in.gcount()));
  return b;
}

}  // namespace

Dataset stream_idx(const std::string& images_path, const std::string& labels_path,
                   int64_t num_classes) {
  const std::string head = read_head(images_path, 16);
  if (head.size() >= 2 && uint8_t(head[0]) == 0x1f && uint8_t(head[1]) == 0x8b) {
    fail_input(images_path, "a gzipped IDX file cannot be read in place: gunzip it, or set "
                            "data.stream to false");
  }
  IdxHeader im = parse_idx_header(images_path, head, std::filesystem::file_size(images_path), 3,
                                  "images");
  IdxArray lb = read_idx(labels_path, 1, "labels");
  if (im.dims[0] != lb.dims[0]) {
    fail_input(labels_path, "holds " + std::to_string(lb.dims[0]) + " labels but " + images_path +
                                " holds " + std::to_string(im.dims[0]) + " images");
  }
  Dataset d;
  d.labels = bytes_to_tensor(lb.bytes, lb.offset, {lb.dims[0]}).to(torch::kInt64);
  check_labels(labels_path, d.labels, num_classes);
  d.num_classes = num_classes;
  d.source = images_path;
  RecordLayout layout{im.offset, uint64_t(im.dims[1] * im.dims[2]), 0, im.dims[0],
                      {1, im.dims[1], im.dims[2]}};
  d.stream = open_record_files({images_path}, {layout});
  d.rows = torch::arange(im.dims[0], torch::kInt64);
  return d;
}

Dataset stream_cifar(const std::vector<std::string>& files, bool cifar100) {
  const size_t label_bytes = cifar100 ? 2 : 1;
  const size_t record = label_bytes + 3 * 32 * 32;
  Dataset d;
  std::vector<torch::Tensor> labels;
  std::vector<RecordLayout> layouts;
  d.num_classes = cifar100 ? 100 : 10;
  for (const auto& path : files) {
    // The labels are read once here; the pixels stay on disk.
    std::string b = read_file(path);
    check_cifar_size(path, b.size(), record, d.num_classes);
    int64_t n = int64_t(b.size() / record);
    auto lab = bytes_to_tensor(b, 0, {n, int64_t(record)})
                   .select(1, int64_t(label_bytes) - 1)
                   .to(torch::kInt64);
    check_labels(path, lab, d.num_classes);
    labels.push_back(lab);
    layouts.push_back({0, record, label_bytes, n, {3, 32, 32}});
  }
  d.labels = torch::cat(labels);
  d.source = files.front();
  d.stream = open_record_files(files, layouts);
  d.rows = torch::arange(d.size(), torch::kInt64);
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
      fail_input(path,
                 "cannot read a dict with a single entry (LibTorch's unpickler): save "
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
    fail_input(path, "'x' must be N x H x W or N x C x H x W, got " + std::to_string(images.dim()) +
                         " dimensions");
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
