// Dataset readers: round trips and every malformed input the readers must refuse.
#include "data/data_spec.h"
#include "data/readers.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>

#include "core/errors.h"
#include "core/files.h"
#include "test_util.h"

namespace {

using ds::testing::TempDir;

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

std::string gzip(const std::string& data) {
  z_stream zs{};
  deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(data.size() + 1024, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = uInt(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = uInt(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// Expects an InputError whose message names `path` and contains `needle`.
template <typename F>
void expect_input_error(F&& f, const std::string& path, const std::string& needle) {
  try {
    f();
    FAIL() << "expected an InputError containing '" << needle << "'";
  } catch (const ds::InputError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "message must be one line: " << msg;
  }
}

struct IdxFiles {
  std::string images, labels;
  torch::Tensor raw_images, raw_labels;
};

IdxFiles make_idx(const TempDir& dir, int64_t n, bool gz) {
  IdxFiles f;
  torch::manual_seed(3);
  f.raw_images = torch::randint(0, 256, {n, 5, 4}, torch::kUInt8);
  f.raw_labels = torch::randint(0, 10, {n}, torch::kInt64);
  f.images = dir.file("images.idx");
  f.labels = dir.file("labels.idx");
  ds::write_idx_images(f.images, f.raw_images);
  ds::write_idx_labels(f.labels, f.raw_labels);
  if (gz) {
    write_bytes(f.images + ".gz", gzip(ds::read_file(f.images)));
    write_bytes(f.labels + ".gz", gzip(ds::read_file(f.labels)));
    f.images += ".gz";
    f.labels += ".gz";
  }
  return f;
}

TEST(Idx, RoundTripRawAndGzip) {
  for (bool gz : {false, true}) {
    TempDir dir;
    IdxFiles f = make_idx(dir, 7, gz);
    ds::Dataset d = ds::load_idx(f.images, f.labels);
    ASSERT_EQ(d.images.sizes(), (std::vector<int64_t>{7, 1, 5, 4}));
    EXPECT_TRUE(torch::allclose(d.images.squeeze(1), f.raw_images.to(torch::kFloat32) / 255.0));
    EXPECT_TRUE(torch::equal(d.labels, f.raw_labels));
    EXPECT_EQ(d.num_classes, 10);
  }
}

TEST(Idx, MissingFile) {
  TempDir dir;
  IdxFiles f = make_idx(dir, 3, false);
  expect_input_error([&] { ds::load_idx(dir.file("nope"), f.labels); }, dir.file("nope"),
                     "no such file");
}

TEST(Idx, WrongMagic) {
  TempDir dir;
  IdxFiles f = make_idx(dir, 3, false);
  std::string b = ds::read_file(f.images);
  b[0] = 'P';
  write_bytes(f.images, b);
  expect_input_error([&] { ds::load_idx(f.images, f.labels); }, f.images, "wrong magic");
  // A labels file where images are expected is also a wrong magic (1 dimension, not 3).
  expect_input_error([&] { ds::load_idx(f.labels, f.labels); }, f.labels, "wrong magic");
}

TEST(Idx, Truncated) {
  TempDir dir;
  IdxFiles f = make_idx(dir, 3, false);
  std::string b = ds::read_file(f.images);
  write_bytes(f.images, b.substr(0, b.size() - 5));
  expect_input_error([&] { ds::load_idx(f.images, f.labels); }, f.images, "truncated");
  write_bytes(f.images, b.substr(0, 6));
  expect_input_error([&] { ds::load_idx(f.images, f.labels); }, f.images, "truncated");
}

TEST(Idx, TruncatedGzipStream) {
  TempDir dir;
  IdxFiles f = make_idx(dir, 50, true);
  std::string b = ds::read_file(f.images);
  write_bytes(f.images, b.substr(0, b.size() / 2));
  expect_input_error([&] { ds::load_idx(f.images, f.labels); }, f.images, "truncated");
}

TEST(Idx, CountMismatch) {
  TempDir dir;
  IdxFiles f = make_idx(dir, 4, false);
  ds::write_idx_labels(f.labels, torch::zeros({3}, torch::kInt64));
  expect_input_error([&] { ds::load_idx(f.images, f.labels); }, f.labels, "holds 3 labels");
}

TEST(Idx, LabelOutOfRange) {
  TempDir dir;
  IdxFiles f = make_idx(dir, 4, false);
  ds::write_idx_labels(f.labels, torch::tensor({1, 2, 12, 3}, torch::kInt64));
  expect_input_error([&] { ds::load_idx(f.images, f.labels); }, f.labels, "label out of range");
}

TEST(Idx, AbsurdHeaderRefusedBeforeAllocating) {
  TempDir dir;
  IdxFiles f = make_idx(dir, 2, false);
  // 4 billion x 65535 x 65535 images declared in a 20-byte file.
  std::string b = {0, 0, 8, 3, '\xff', '\xff', '\xff', '\xff', 0, 0, '\xff', '\xff',
                   0, 0, '\xff', '\xff', 1, 2, 3, 4};
  write_bytes(f.images, b);
  expect_input_error([&] { ds::load_idx(f.images, f.labels); }, f.images, "absurd");
}

TEST(Cifar, ReadsRecordsAndRefusesTruncation) {
  TempDir dir;
  std::string rec(1 + 3072, '\0');
  std::string file;
  for (int i = 0; i < 3; ++i) {
    rec[0] = char(i + 4);
    rec[1] = char(200);  // first red pixel
    file += rec;
  }
  write_bytes(dir.file("b.bin"), file);
  ds::Dataset d = ds::load_cifar({dir.file("b.bin")}, false);
  EXPECT_EQ(d.images.sizes(), (std::vector<int64_t>{3, 3, 32, 32}));
  EXPECT_EQ(d.labels[2].item<int64_t>(), 6);
  EXPECT_NEAR(d.images[0][0][0][0].item<float>(), 200.0 / 255.0, 1e-6);
  write_bytes(dir.file("b.bin"), file.substr(0, file.size() - 1));
  expect_input_error([&] { ds::load_cifar({dir.file("b.bin")}, false); }, dir.file("b.bin"),
                     "truncated");
  file[0] = char(10);
  write_bytes(dir.file("b.bin"), file);
  expect_input_error([&] { ds::load_cifar({dir.file("b.bin")}, false); }, dir.file("b.bin"),
                     "label out of range");
}

// Streamed datasets read each sample at its offset: the same pixels as the in-memory readers,
// through subsets and index lists, across several CIFAR batch files, counting what they read.
TEST(Streamed, SamePixelsAsInMemoryForIdxAndCifar) {
  TempDir dir;
  IdxFiles f = make_idx(dir, 9, false);
  ds::Dataset mem = ds::load_idx(f.images, f.labels), lazy = ds::stream_idx(f.images, f.labels);
  ASSERT_TRUE(lazy.streamed());
  EXPECT_FALSE(lazy.images.defined());
  EXPECT_EQ(lazy.sample_shape(), mem.sample_shape());
  EXPECT_TRUE(torch::equal(lazy.labels, mem.labels));
  torch::Tensor idx = torch::tensor({8, 0, 3, 3}, torch::kInt64);
  EXPECT_TRUE(torch::equal(lazy.images_at(idx), mem.images.index_select(0, idx)));
  ds::Dataset part = ds::subset(lazy, 0.5, 3), mem_part = ds::subset(mem, 0.5, 3);
  EXPECT_TRUE(torch::equal(ds::in_memory(part).images, mem_part.images));
  EXPECT_EQ(lazy.stream->loaded(), 4 + part.size());
  const std::string gz = f.images;
  write_bytes(gz + ".gz", gzip(ds::read_file(gz)));
  expect_input_error([&] { ds::stream_idx(gz + ".gz", f.labels); }, gz + ".gz", "data.stream");

  std::vector<std::string> files;
  for (int b = 0; b < 2; ++b) {
    std::string file;
    for (int i = 0; i < 3; ++i) {
      std::string rec(1 + 3072, char(17 * i + 5 * b));
      rec[0] = char(i + 3 * b);
      file += rec;
    }
    files.push_back(dir.file("c" + std::to_string(b) + ".bin"));
    write_bytes(files.back(), file);
  }
  ds::Dataset cm = ds::load_cifar(files, false), cl = ds::stream_cifar(files, false);
  EXPECT_TRUE(torch::equal(cl.labels, cm.labels));
  EXPECT_TRUE(torch::equal(cl.images_range(0, 6), cm.images));
  write_bytes(files[1], ds::read_file(files[1]).substr(0, 3073 * 2 + 7));
  expect_input_error([&] { ds::stream_cifar(files, false); }, files[1], "truncated");
}

TEST(TensorFile, RoundTripAndErrors) {
  TempDir dir;
  c10::Dict<std::string, torch::Tensor> dict;
  dict.insert("x", torch::randint(0, 256, {6, 3, 8, 8}, torch::kUInt8));
  dict.insert("y", torch::tensor({0, 1, 2, 0, 1, 2}, torch::kInt64));
  auto bytes = torch::pickle_save(c10::IValue(dict));
  write_bytes(dir.file("d.pt"), std::string(bytes.begin(), bytes.end()));
  ds::Dataset d = ds::load_tensor_file(dir.file("d.pt"));
  EXPECT_EQ(d.images.sizes(), (std::vector<int64_t>{6, 3, 8, 8}));
  EXPECT_EQ(d.num_classes, 3);

  dict.insert_or_assign("y", torch::tensor({0, 1, 2}, torch::kInt64));
  bytes = torch::pickle_save(c10::IValue(dict));
  write_bytes(dir.file("d.pt"), std::string(bytes.begin(), bytes.end()));
  expect_input_error([&] { ds::load_tensor_file(dir.file("d.pt")); }, dir.file("d.pt"),
                     "holds 3 labels");

  write_bytes(dir.file("junk.pt"), "this is not a tensor file");
  expect_input_error([&] { ds::load_tensor_file(dir.file("junk.pt")); }, dir.file("junk.pt"),
                     "not a torch archive");
}

TEST(Subsets, SeededAndSized) {
  ds::Dataset d = ds::testing::quadrant_dataset(200, 1, 1, 8);
  ds::Dataset a = ds::subset(d, 0.25, 7), b = ds::subset(d, 0.25, 7), c = ds::subset(d, 0.25, 8);
  EXPECT_EQ(a.size(), 50);
  EXPECT_TRUE(torch::equal(a.images, b.images));
  EXPECT_FALSE(torch::equal(a.images, c.images));
  auto [rest, held] = ds::split(d, 0.1, 3);
  EXPECT_EQ(rest.size(), 180);
  EXPECT_EQ(held.size(), 20);
  EXPECT_EQ(ds::seeded_permutation(10, 5), ds::seeded_permutation(10, 5));
  auto p = ds::seeded_permutation(1000, 9);
  std::sort(p.begin(), p.end());
  for (int64_t i = 0; i < 1000; ++i) ASSERT_EQ(p[size_t(i)], i);
}

TEST(DataSpec, ConfigErrorsNameTheField) {
  auto parse = [](const ds::Json& j) { return ds::parse_data_spec(ds::ConfigObject(j, "c.json", "data")); };
  expect_input_error([&] { parse({{"format", "idx"}, {"pth", "x"}}); }, "c.json",
                     "unknown field 'data.pth'");
  expect_input_error([&] { parse({{"train_fraction", "half"}}); }, "c.json",
                     "field 'data.train_fraction' must be a number, got a string");
  expect_input_error([&] { parse({{"train_fraction", 0.0}}); }, "c.json",
                     "field 'data.train_fraction' must be in (0, 1]");
  expect_input_error([&] { parse({{"format", "png"}}); }, "c.json", "must be one of");
}

}  // namespace
