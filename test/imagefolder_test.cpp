// Image folders: index order, the same samples as IDX (sorted by class), splits and subsets as
// the other formats draw them, and every bad folder refused with one line naming it.
#include "data/imagefolder.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "data/data_spec.h"
#include "data/readers.h"
#include "image_test_util.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using ds::testing::expect_input_error;
using ds::testing::png_of;
using ds::testing::TempDir;
using ds::testing::write_bytes;

ds::DataSpec folder_spec(const std::string& path, const std::string& test_path = "") {
  ds::DataSpec s;
  s.format = "imagefolder";
  s.path = path;
  s.test_path = test_path;
  return s;
}

// n random 6 x 5 gray images with labels i % 3, as IDX (sorted stably by label, as the folder's
// order is) and as ROOT/LABEL/INDEX.png; returns the images and labels in folder order.
std::pair<torch::Tensor, torch::Tensor> write_both(const std::string& idx_dir,
                                                   const std::string& root, const char* split,
                                                   int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  torch::Tensor images = torch::randint(0, 256, {n, 6, 5}, torch::kUInt8);
  torch::Tensor labels = torch::arange(n, torch::kInt64).remainder(3);
  for (int64_t i = 0; i < n; ++i) {
    std::string dir = root + "/" + std::to_string(labels[i].item<int64_t>());
    fs::create_directories(dir);
    char name[16];
    std::snprintf(name, sizeof name, "%03lld.png", static_cast<long long>(i));
    write_bytes(dir + "/" + name, png_of(images[i].unsqueeze(0)));
  }
  torch::Tensor order = std::get<1>(labels.sort(/*stable=*/true, 0, false));
  std::string prefix = idx_dir + "/" + split;
  ds::write_idx_images(prefix + "-images-idx3-ubyte", images.index_select(0, order));
  ds::write_idx_labels(prefix + "-labels-idx1-ubyte", labels.index_select(0, order));
  return {images.index_select(0, order), labels.index_select(0, order)};
}

TEST(ImageFolder, SameSamplesAsIdxSortedStablyByClass) {
  TempDir dir;
  fs::create_directories(dir.file("idx"));
  write_both(dir.file("idx"), dir.file("img/train"), "train", 24, 1);
  write_both(dir.file("idx"), dir.file("img/test"), "t10k", 9, 2);
  ds::DataSpec idx;
  idx.path = dir.file("idx");
  ds::DataSplits a = ds::load_data(idx);
  ds::DataSplits b = ds::load_data(folder_spec(dir.file("img/train"), dir.file("img/test")));
  EXPECT_TRUE(torch::equal(a.train.images, b.train.images));
  EXPECT_TRUE(torch::equal(a.train.labels, b.train.labels));
  EXPECT_TRUE(torch::equal(a.test.images, b.test.images));
  EXPECT_TRUE(torch::equal(a.test.labels, b.test.labels));
  EXPECT_EQ(b.train.num_classes, 3);
  EXPECT_EQ(b.files, (std::vector<std::string>{dir.file("img/train"), dir.file("img/test")}));
  EXPECT_FALSE(b.skipped_files.has_value());
  // The digest covers content: one changed pixel changes it.
  std::string first = b.digest;
  EXPECT_EQ(ds::load_data(folder_spec(dir.file("img/train"), dir.file("img/test"))).digest, first);
  write_bytes(dir.file("img/test/0/000.png"), png_of(torch::zeros({1, 6, 5}, torch::kUInt8)));
  EXPECT_NE(ds::load_data(folder_spec(dir.file("img/train"), dir.file("img/test"))).digest, first);
}

TEST(ImageFolder, ClassesAndFilesInBytewiseOrderAnyExtensionCase) {
  TempDir dir;
  std::string png = png_of(torch::zeros({1, 2, 2}, torch::kUInt8));
  for (const char* c : {"a", "B", "_x"}) fs::create_directories(dir.file(c));
  for (const char* f : {"a/b.PNG", "a/a.jpeg", "a/C.JpG", "B/z.png", "_x/y.png"}) {
    write_bytes(dir.file(f), png);
  }
  write_bytes(dir.file("a/notes.txt"), "not an image");
  fs::create_directories(dir.file("a/deeper"));
  write_bytes(dir.file("a/deeper/d.png"), png);
  write_bytes(dir.file("README.png"), png);  // a file at the root is not a class
  ds::ImageIndex index = ds::scan_image_folder(dir.path());
  EXPECT_EQ(index.classes, (std::vector<std::string>{"B", "_x", "a"}));
  std::vector<std::string> names;
  std::vector<int64_t> labels;
  for (const auto& e : index.entries) {
    names.push_back(fs::path(e.path).filename().string());
    labels.push_back(e.label);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"z.png", "y.png", "C.JpG", "a.jpeg", "b.PNG"}));
  EXPECT_EQ(labels, (std::vector<int64_t>{0, 1, 2, 2, 2}));
}

TEST(ImageFolder, HoldoutAndSubsetsDrawnAsForTheOtherFormats) {
  TempDir dir;
  fs::create_directories(dir.file("idx"));
  write_both(dir.file("idx"), dir.file("img"), "train", 40, 3);
  ds::DataSplits all = ds::load_data(folder_spec(dir.file("img"), dir.file("img")));
  ds::DataSpec s = folder_spec(dir.file("img"));
  s.holdout_fraction = 0.25;
  s.train_fraction = 0.5;
  s.test_fraction = 0.6;
  s.seed = 3;
  ds::DataSplits got = ds::load_data(s);
  auto [rest, held] = ds::split(all.train, 0.25, 3);
  ds::Dataset train = ds::subset(rest, 0.5, 3), test = ds::subset(held, 0.6, 4);
  EXPECT_EQ(got.train.size(), 15);
  EXPECT_TRUE(torch::equal(got.train.images, train.images));
  EXPECT_TRUE(torch::equal(got.train.labels, train.labels));
  EXPECT_TRUE(torch::equal(got.test.images, test.images));
  EXPECT_EQ(got.files, (std::vector<std::string>{dir.file("img")}));
}

TEST(ImageFolder, ShapeFromFirstImageOrDataShape) {
  TempDir dir;
  fs::create_directories(dir.file("r/a"));
  fs::create_directories(dir.file("r/b"));
  write_bytes(dir.file("r/a/1.png"), png_of(torch::full({1, 4, 6}, 200, torch::kUInt8)));
  write_bytes(dir.file("r/b/1.png"), png_of(torch::full({1, 8, 12}, 100, torch::kUInt8)));
  write_bytes(dir.file("r/b/2.png"), png_of(torch::full({1, 2, 2}, 50, torch::kUInt8)));
  ds::DataSplits d = ds::load_data(folder_spec(dir.file("r"), dir.file("r")));
  EXPECT_EQ(d.train.sample_shape(), (std::vector<int64_t>{1, 4, 6}));
  EXPECT_NEAR(d.train.images[1].max().item<float>(), 100 / 255.0, 1e-6);  // a flat image stays flat
  ds::DataSpec s = folder_spec(dir.file("r"), dir.file("r"));
  s.shape = {3, 5, 5};
  d = ds::load_data(s);
  EXPECT_EQ(d.test.sample_shape(), (std::vector<int64_t>{3, 5, 5}));
  EXPECT_TRUE(torch::equal(d.test.images.select(1, 0), d.test.images.select(1, 2)));
  // Without data.shape, a colour image among gray ones is refused, naming it.
  write_bytes(dir.file("r/b/3.png"), png_of(torch::zeros({3, 4, 6}, torch::kUInt8)));
  expect_input_error([&] { ds::load_data(folder_spec(dir.file("r"), dir.file("r"))); },
                     dir.file("r/b/3.png"), "mixed channel counts");
}

TEST(ImageFolder, BadFoldersRefusedByName) {
  TempDir dir;
  std::string png = png_of(torch::zeros({1, 3, 3}, torch::kUInt8));
  auto load = [&](const std::string& root, const std::string& test = "") {
    return [=] { ds::load_data(folder_spec(root, test.empty() ? root : test)); };
  };
  write_bytes(dir.file("file"), "x");
  expect_input_error(load(dir.file("file")), dir.file("file"), "not a folder of class folders");
  expect_input_error(load(dir.file("missing")), dir.file("missing"), "not a folder");
  fs::create_directories(dir.file("flat"));
  write_bytes(dir.file("flat/1.png"), png);
  expect_input_error(load(dir.file("flat")), dir.file("flat"), "holds no class folders");
  fs::create_directories(dir.file("empty/a"));
  fs::create_directories(dir.file("empty/b"));
  write_bytes(dir.file("empty/a/1.png"), png);
  write_bytes(dir.file("empty/b/notes.txt"), "x");
  expect_input_error(load(dir.file("empty")), dir.file("empty/b"), "class folder holds no");
  fs::create_directories(dir.file("t2/a"));
  fs::create_directories(dir.file("t2/c"));
  write_bytes(dir.file("t2/a/1.png"), png);
  write_bytes(dir.file("t2/c/1.png"), png);
  fs::create_directories(dir.file("t1/a"));
  fs::create_directories(dir.file("t1/b"));
  write_bytes(dir.file("t1/a/1.png"), png);
  write_bytes(dir.file("t1/b/1.png"), png);
  expect_input_error(
      load(dir.file("t1"), dir.file("t2")), dir.file("t2"),
      "class folders differ from those of " + dir.file("t1") + ": missing 'b'; extra 'c'");
}

TEST(ImageFolder, BadFilesFailFirstInOrderOrAreSkippedAndCounted) {
  TempDir dir;
  torch::Tensor img = torch::randint(0, 256, {1, 8, 8}, torch::kUInt8);
  std::string png = png_of(img), jpg = ds::testing::jpeg_of(img);
  for (const char* c : {"a", "b"}) fs::create_directories(dir.file(c));
  for (int i = 0; i < 20; ++i) write_bytes(dir.file("a/" + std::to_string(10 + i) + ".png"), png);
  write_bytes(dir.file("b/1.jpg"), jpg);
  write_bytes(dir.file("b/2.jpg"), jpg.substr(0, jpg.size() / 2));
  write_bytes(dir.file("b/3.png"), png.substr(0, png.size() - 16));
  write_bytes(dir.file("b/4.png"), "not an image at all");
  ds::DataSpec s = folder_spec(dir.path(), dir.path());
  // The first bad file in index order is named, whatever the thread count.
  at::set_num_threads(2);
  expect_input_error([&] { ds::load_data(s); }, dir.file("b/2.jpg"), "corrupt JPEG");
  at::set_num_threads(1);
  s.skip_bad = true;
  ds::DataSplits d = ds::load_data(s);
  EXPECT_EQ(d.train.size(), 21);
  EXPECT_EQ(d.test.size(), 21);
  ASSERT_TRUE(d.skipped_files.has_value());
  EXPECT_EQ(*d.skipped_files, 6);  // three in each split
  EXPECT_EQ(ds::data_inputs_to_json(d).at("skipped_files"), 6);
  EXPECT_EQ(d.train.labels[20].item<int64_t>(), 1);
}

TEST(ImageFolder, SpecFieldsCheckedAndOnlyForImageFolders) {
  auto parse = [](const ds::Json& j) {
    return ds::parse_data_spec(ds::ConfigObject(j, "c.json", "data"));
  };
  expect_input_error(
      [&] {
        parse({{"format", "idx"}, {"shape", {1, 2, 2}}});
      },
      "c.json", "field 'data.shape' applies only to format 'imagefolder'");
  expect_input_error(
      [&] {
        parse({{"format", "tensor"}, {"path", "x"}, {"skip_bad", true}});
      },
      "c.json", "field 'data.skip_bad' applies only");
  expect_input_error(
      [&] {
        parse({{"format", "imagefolder"}, {"path", "r"}, {"shape", {2, 4, 4}}});
      },
      "c.json", "must be [C, H, W] with C 1 or 3");
  expect_input_error(
      [&] {
        parse({{"format", "imagefolder"}, {"path", "r"}, {"shape", {1, 1 << 20, 1 << 20}}});
      },
      "c.json", "at most");
  ds::DataSpec s =
      parse({{"format", "imagefolder"}, {"path", "r"}, {"shape", {3, 8, 8}}, {"skip_bad", true}});
  EXPECT_EQ(s.shape, (std::vector<int64_t>{3, 8, 8}));
  // The spec survives its own JSON (keys record it that way).
  ds::DataSpec back = parse(ds::data_spec_to_json(s));
  EXPECT_EQ(back.shape, s.shape);
  EXPECT_TRUE(back.skip_bad);
  // Other formats' JSON is unchanged: no image fields.
  EXPECT_FALSE(ds::data_spec_to_json(parse({{"format", "idx"}})).contains("skip_bad"));
}

}  // namespace
