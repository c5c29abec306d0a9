// Decoding single images: every PNG colour type and depth, JPEG, the fitting rules (channels,
// resize, centre crop), and corrupt, truncated and oversized files refused with one line.
#include "data/image_decode.h"

#include <gtest/gtest.h>

#include "image_test_util.h"

namespace {

using ds::testing::expect_input_error;
using ds::testing::jpeg_of;
using ds::testing::make_png;
using ds::testing::png_of;

torch::Tensor fit(const std::string& bytes, int64_t c, int64_t h, int64_t w,
                  bool replicate = true) {
  return ds::fit_image(ds::decode_image_bytes(bytes, "x.png"), {c, h, w, replicate, "data.shape"},
                       "x.png");
}

torch::Tensor random_u8(std::vector<int64_t> shape, uint64_t seed) {
  torch::manual_seed(seed);
  return torch::randint(0, 256, shape, torch::kUInt8);
}

TEST(ImageDecode, Png8BitGrayAndRgbExact) {
  for (int64_t c : {1, 3}) {
    torch::Tensor img = random_u8({c, 5, 7}, 1);
    ds::RawImage raw = ds::decode_image_bytes(png_of(img), "x.png");
    EXPECT_EQ(raw.channels, c);
    EXPECT_EQ(raw.height, 5);
    EXPECT_EQ(raw.width, 7);
    // The same arithmetic as the IDX reader: uint8 to float, divided by 255.
    EXPECT_TRUE(torch::equal(fit(png_of(img), c, 5, 7), img.to(torch::kFloat32).div_(255.0)));
  }
}

TEST(ImageDecode, PngAlphaDroppedPaletteExpanded16BitScaled) {
  // RGBA and gray + alpha: the alpha byte is dropped, the colour kept.
  std::string rgba = make_png(2, 1, 6, 8, {std::string("\x0a\x14\x1e\x00\xc8\xb4\xa0\xff", 8)});
  torch::Tensor x = fit(rgba, 3, 1, 2);
  EXPECT_NEAR(x[0][0][0].item<float>(), 10 / 255.0, 1e-6);
  EXPECT_NEAR(x[2][0][1].item<float>(), 160 / 255.0, 1e-6);
  std::string ga = make_png(1, 1, 4, 8, {std::string("\x64\x00", 2)});
  EXPECT_NEAR(fit(ga, 1, 1, 1).item<float>(), 100 / 255.0, 1e-6);
  // A palette becomes RGB.
  std::string pal = make_png(2, 1, 3, 8, {std::string("\x01\x00", 2)},
                             std::string("\x01\x02\x03\xff\x80\x00", 6));
  ds::RawImage raw = ds::decode_image_bytes(pal, "p.png");
  EXPECT_EQ(raw.channels, 3);
  EXPECT_EQ(raw.pixels, (std::vector<uint8_t>{255, 128, 0, 1, 2, 3}));
  // 16-bit samples are scaled to 8 bits with rounding: 0x8080 is exactly 128 of 255.
  std::string g16 = make_png(2, 1, 0, 16, {std::string("\x80\x80\xff\xff", 4)});
  EXPECT_EQ(ds::decode_image_bytes(g16, "g.png").pixels, (std::vector<uint8_t>{128, 255}));
  // 1-bit gray expands to 0 and 255.
  std::string g1 = make_png(3, 1, 0, 1, {std::string("\xa0", 1)});
  EXPECT_EQ(ds::decode_image_bytes(g1, "g.png").pixels, (std::vector<uint8_t>{255, 0, 255}));
}

TEST(ImageDecode, JpegGrayAndRgbClose) {
  for (int64_t c : {1, 3}) {
    torch::Tensor img =
        torch::arange(0, 256, 4, torch::kInt64).to(torch::kUInt8).reshape({1, 8, 8});
    img = img.expand({c, 8, 8}).contiguous();
    torch::Tensor x = fit(jpeg_of(img), c, 8, 8);
    EXPECT_EQ(x.sizes(), (std::vector<int64_t>{c, 8, 8}));
    EXPECT_LT((x - img.to(torch::kFloat32) / 255.0).abs().max().item<float>(), 0.03);
  }
}

TEST(ImageDecode, ResizeCoversThenCropsTheCentre) {
  namespace F = torch::nn::functional;
  torch::Tensor tall = random_u8({1, 8, 4}, 2);
  torch::Tensor xf = tall.to(torch::kFloat32).div(255.0);
  // 8 x 4 into 4 x 4: the width already fits (scale 1), so only rows 2..5 are kept.
  EXPECT_TRUE(torch::equal(fit(png_of(tall), 1, 4, 4), xf.narrow(1, 2, 4)));
  // Into 2 x 2: scaled by 1/2 to 4 x 2, then rows 1..2.
  auto opts =
      F::InterpolateFuncOptions().mode(torch::kBilinear).align_corners(false).antialias(true);
  torch::Tensor half = F::interpolate(xf.unsqueeze(0), opts.size(std::vector<int64_t>{4, 2}));
  EXPECT_TRUE(
      torch::allclose(fit(png_of(tall), 1, 2, 2), half.squeeze(0).narrow(1, 1, 2).clamp(0, 1)));
  // Upscaling 3 x 3 to 6 x 6 needs no crop.
  torch::Tensor small = random_u8({3, 3, 3}, 3);
  torch::Tensor up = F::interpolate(small.to(torch::kFloat32).div(255.0).unsqueeze(0),
                                    opts.size(std::vector<int64_t>{6, 6}));
  EXPECT_TRUE(torch::allclose(fit(png_of(small), 3, 6, 6), up.squeeze(0).clamp(0, 1)));
  // An extreme aspect ratio would need a huge intermediate image: refused by name.
  std::vector<std::string> row(1, std::string(20000, '\x10'));
  expect_input_error([&] { fit(make_png(20000, 1, 0, 8, row), 1, 4096, 4096); }, "x.png",
                     "within the pixel limit");
}

TEST(ImageDecode, ChannelRules) {
  torch::Tensor gray = random_u8({1, 4, 4}, 4), rgb = random_u8({3, 4, 4}, 5);
  torch::Tensor x = fit(png_of(gray), 3, 4, 4);
  EXPECT_TRUE(torch::equal(x[0], x[1]) && torch::equal(x[1], x[2]));
  EXPECT_TRUE(torch::equal(x[0], gray[0].to(torch::kFloat32).div(255.0)));
  expect_input_error([&] { fit(png_of(rgb), 1, 4, 4); }, "x.png", "asks for 1 channel");
  expect_input_error([&] { fit(png_of(gray), 3, 4, 4, false); }, "x.png", "mixed channel counts");
}

TEST(ImageDecode, CorruptTruncatedAndForeignBytesRefused) {
  std::string png = png_of(random_u8({3, 16, 16}, 6));
  std::string jpg = jpeg_of(random_u8({3, 16, 16}, 7), 90);
  auto decode = [](const std::string& b) { ds::decode_image_bytes(b, "f.img"); };
  expect_input_error([&] { decode(png.substr(0, png.size() - 20)); }, "f.img", "corrupt PNG");
  expect_input_error([&] { decode(png.substr(0, 40)); }, "f.img", "corrupt PNG");
  expect_input_error([&] { decode(jpg.substr(0, jpg.size() / 2)); }, "f.img", "corrupt JPEG");
  expect_input_error([&] { decode(jpg.substr(0, 3)); }, "f.img", "corrupt JPEG");
  std::string flipped = png;
  flipped[45] ^= 0x55;  // inside IDAT: the chunk's CRC no longer matches
  expect_input_error([&] { decode(flipped); }, "f.img", "corrupt PNG");
  expect_input_error([&] { decode("GIF89a...."); }, "f.img", "not a PNG or JPEG image");
  expect_input_error([&] { decode(""); }, "f.img", "empty file");
}

TEST(ImageDecode, OversizedHeadersRefusedBeforeAllocating) {
  // A 100000 x 100000 PNG of a few bytes: the header alone is checked.
  std::string png = make_png(100000, 100000, 0, 8, {std::string(3, '\0')});
  expect_input_error([&] { ds::decode_image_bytes(png, "big.png"); }, "big.png", "over the limit");
  // A JPEG whose frame header claims 20000 x 20000 (within libjpeg's own limit of 65500).
  std::string jpg = jpeg_of(random_u8({1, 8, 8}, 8));
  size_t sof = jpg.find("\xff\xc0");
  ASSERT_NE(sof, std::string::npos);
  jpg.replace(sof + 5, 4, "\x4e\x20\x4e\x20");
  expect_input_error([&] { ds::decode_image_bytes(jpg, "big.jpg"); }, "big.jpg", "over the limit");
}

}  // namespace
