// Black-box key candidates: the smooth source's inputs and its refusals.
#include <gtest/gtest.h>

#include "core/config.h"
#include "core/errors.h"
#include "watermark/blackbox.h"

namespace {

// Share of an image batch's variance left after subtracting a 3x3 box mean: what a mild
// smoothing filter would take out of a key.
double high_frequency_share(const torch::Tensor& x) {
  namespace F = torch::nn::functional;
  torch::Tensor smooth = F::avg_pool2d(F::pad(x, F::PadFuncOptions({1, 1, 1, 1}).mode(torch::kReplicate)),
                                       F::AvgPool2dFuncOptions(3).stride(1));
  return (x - smooth).var().item<double>() / x.var().item<double>();
}

}  // namespace

TEST(Blackbox, SmoothCandidatesAreSeededPixelsWithLittleHighFrequency) {
  ds::Json gen{{"source", "smooth"}, {"seed", 5}, {"candidate_factor", 40}, {"cell", 4}};
  torch::Tensor a, la, b, lb, u, lu;
  ds::draw_candidates(gen, {1, 28, 28}, 10, 0, 64, a, la);
  ds::draw_candidates(gen, {1, 28, 28}, 10, 0, 64, b, lb);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_TRUE(torch::equal(la, lb));
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{64, 1, 28, 28}));
  EXPECT_GE(a.min().item<double>(), 0.0);
  EXPECT_LE(a.max().item<double>(), 1.0);
  gen["source"] = "uniform";
  ds::draw_candidates(gen, {1, 28, 28}, 10, 0, 64, u, lu);
  // Uniform noise loses most of its variance to a 3x3 mean; the smooth source keeps most of it.
  EXPECT_GT(high_frequency_share(u), 0.8);
  EXPECT_LT(high_frequency_share(a), 0.15);
}

TEST(Blackbox, SmoothSourceNeedsImagesAndCellOnlyGoesWithIt) {
  ds::Json gen{{"source", "smooth"}, {"seed", 5}, {"candidate_factor", 40}, {"cell", 4}};
  torch::Tensor x, y;
  EXPECT_THROW(ds::draw_candidates(gen, {784}, 10, 0, 8, x, y), ds::InputError);
  ds::Json spec{{"source", "uniform"}, {"cell", 4}};
  try {
    ds::parse_blackbox_key_spec(ds::ConfigObject(spec, "k.json", "blackbox"));
    FAIL() << "cell with a uniform source was accepted";
  } catch (const ds::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("cell"), std::string::npos) << e.what();
  }
}
