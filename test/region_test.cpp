// Keyed regions: the exact test's values and its false-claim rate on models that never saw the
// guard, the guard's answers, training the regions into the weights, and the key part's round
// trip through the key file.
#include <gtest/gtest.h>

#include <cmath>

#include "model/zoo.h"
#include "test_util.h"
#include "watermark/key_file.h"
#include "watermark/blackbox.h"
#include "watermark/ownership.h"
#include "watermark/region_embed.h"
#include "watermark/region_guard.h"
#include "watermark/region_key.h"

namespace {

using ds::testing::quadrant_dataset;

// A small key made from the toy data: 4 classes, 6 regions.
ds::RegionKey toy_key(uint64_t seed) {
  ds::DataSplits data{quadrant_dataset(4000, 3), quadrant_dataset(2000, 4), "", {}, {}};
  ds::RegionKeySpec spec;
  spec.regions = 6;
  spec.fraction = 0.05;
  spec.per_region = 8;
  return ds::make_region_key(spec, data, seed);
}

TEST(RegionKey, RegionsHoldTheRequestedShareAndTargetsAvoidTheCommonClass) {
  ds::DataSplits data{quadrant_dataset(4000, 3), quadrant_dataset(2000, 4), "", {}, {}};
  ds::RegionKeySpec spec;
  spec.regions = 6;
  spec.fraction = 0.05;
  ds::RegionKey key = ds::make_region_key(spec, data, 9);
  double share = ds::region_of(key, data.train.images).ge(0).to(torch::kFloat64).mean().item<double>();
  EXPECT_GT(share, 0.03);  // overlapping regions count once
  EXPECT_LE(share, 0.05 + 1e-3);
  EXPECT_FALSE(key.excluded.gather(1, key.targets.unsqueeze(1)).any().item<bool>());
  EXPECT_TRUE(key.excluded.sum(1).ge(1).all().item<bool>());
  // Every verification input lies in the region it is listed under.
  EXPECT_TRUE(ds::region_of(key, key.inputs).equal(key.input_regions));
  // Same seed, same key; another seed, other directions.
  EXPECT_TRUE(ds::make_region_key(spec, data, 9).directions.equal(key.directions));
  EXPECT_FALSE(ds::make_region_key(spec, data, 10).directions.equal(key.directions));
}

TEST(RegionKey, ExactTestGivesTheKeyProbabilityWhenEveryAnswerIsTheTarget) {
  ds::RegionKey key = toy_key(5);
  torch::Tensor answers = key.targets.index({key.input_regions});
  ds::RegionDecision d = ds::decide_regions(key, 4, answers);
  EXPECT_EQ(d.matches, key.size());
  int64_t present = std::get<0>(at::_unique(key.input_regions)).numel();
  EXPECT_EQ(d.regions_hit, present);
  // Each region's count is its own only under its true target: 1/allowed per region present.
  double expected = 0;
  for (int64_t r = 0; r < key.regions(); ++r) {
    if (key.input_regions.eq(r).any().item<bool>()) {
      expected -= std::log10(double(4 - key.excluded[r].sum().item<int64_t>()));
    }
  }
  EXPECT_NEAR(d.log10_p_value, expected, 1e-9);
}

TEST(RegionKey, ExactTestIsOneWhenNothingMatches) {
  ds::RegionKey key = toy_key(5);
  torch::Tensor common = key.excluded.argmax(1);  // an excluded class of each region
  ds::RegionDecision d = ds::decide_regions(key, 4, common.index({key.input_regions}));
  EXPECT_EQ(d.matches, 0);
  EXPECT_NEAR(d.p_value, 1.0, 1e-12);
}

TEST(RegionKey, FalseClaimRateOnIndependentAnswersIsAtMostAlpha) {
  // Answers that know nothing of the key: over many keys, P[p <= a] <= a at every level.
  ds::RegionKey key = toy_key(5);
  auto gen = at::detail::createCPUGenerator(17);
  int64_t below_01 = 0, below_1 = 0, trials = 2000;
  for (int64_t t = 0; t < trials; ++t) {
    ds::RegionKey k = key;
    // Targets drawn as the key draws them: uniformly among each region's allowed classes.
    torch::Tensor weights = (1 - k.excluded).to(torch::kFloat64);
    k.targets = torch::multinomial(weights, 1, false, gen).flatten();
    torch::Tensor answers = torch::randint(0, 4, {k.size()}, gen, torch::kInt64);
    double p = ds::decide_regions(k, 4, answers).p_value;
    below_01 += p <= 0.01;
    below_1 += p <= 0.1;
  }
  // Binomial slack of about three standard deviations above the nominal rate.
  EXPECT_LE(below_01, int64_t(0.01 * trials + 3 * std::sqrt(0.01 * trials)));
  EXPECT_LE(below_1, int64_t(0.1 * trials + 3 * std::sqrt(0.1 * trials)));
}

TEST(RegionGuard, AnswersTheTargetInsideRegionsAndPassesTheRestThrough) {
  ds::RegionKey key = toy_key(5);
  ds::ArchSpec arch;
  arch.arch = "mlp";
  arch.hidden = {16};
  ds::InputSpec input{{1, 28, 28}, 4, {0.3}, {0.3}};
  torch::jit::Module model = ds::build_model(arch, input, 1);
  model.eval();
  torch::jit::Module guarded = ds::guard_model(model, key);
  EXPECT_TRUE(ds::is_guarded(guarded));
  EXPECT_FALSE(ds::is_guarded(model));
  torch::Tensor x = torch::cat({key.inputs, quadrant_dataset(200, 8).images});
  torch::Tensor plain = model.forward({x}).toTensor();
  torch::Tensor served = guarded.forward({x}).toTensor();
  torch::Tensor region = ds::region_of(key, x);
  torch::Tensor inside = region.ge(0);
  ASSERT_GT(inside.sum().item<int64_t>(), 0);
  ASSERT_GT((~inside).sum().item<int64_t>(), 0);
  EXPECT_TRUE(served.index({~inside}).equal(plain.index({~inside})));
  EXPECT_TRUE(served.index({inside}).argmax(1).equal(key.targets.index({region.index({inside})})));
  // The same logits, two of them traded: soft labels carry the target too.
  EXPECT_TRUE(std::get<0>(served.sort(1)).allclose(std::get<0>(plain.sort(1))));
}

TEST(RegionTrain, RelabelsTheRegionsAndAddsTheirNearMissesWithTheirOwnLabels) {
  ds::RegionKey key = toy_key(5);
  ds::Dataset train = quadrant_dataset(4000, 3);
  ds::RelabelledData relabelled = ds::relabel_regions(key, train, 2, 3);
  const ds::Dataset& out = relabelled.data;
  ds::RegionPlacement at = ds::place_in_regions(key, train.images);
  torch::Tensor region = at.region;
  EXPECT_TRUE(region.equal(ds::region_of(key, train.images)));
  torch::Tensor inside = region.ge(0);
  EXPECT_TRUE(at.depth.gt(0).equal(inside));
  int64_t n_in = inside.sum().item<int64_t>();
  ASSERT_GT(n_in, 0);
  EXPECT_EQ(relabelled.region_inputs, n_in);
  ASSERT_EQ(out.size(), train.size() + 2 * (n_in + 3 * n_in));
  torch::Tensor first = out.labels.narrow(0, 0, train.size());
  EXPECT_TRUE(first.index({inside}).equal(key.targets.index({region.index({inside})})));
  EXPECT_TRUE(first.index({~inside}).equal(train.labels.index({~inside})));
  // One copy of the extras: the in-region inputs with their targets, then the near misses:
  // outside every region, with their own labels, and closer to a boundary than any other.
  torch::Tensor extra_x = out.images.narrow(0, train.size(), 4 * n_in);
  torch::Tensor extra_y = out.labels.narrow(0, train.size(), 4 * n_in);
  EXPECT_TRUE(ds::region_of(key, extra_x.narrow(0, 0, n_in)).ge(0).all().item<bool>());
  torch::Tensor near_x = extra_x.narrow(0, n_in, 3 * n_in);
  EXPECT_TRUE(ds::region_of(key, near_x).lt(0).all().item<bool>());
  float shallowest_near = ds::place_in_regions(key, near_x).depth.min().item<float>();
  EXPECT_EQ(at.depth.index({~inside}).gt(shallowest_near).sum().item<int64_t>(), 3 * n_in - 1);
  EXPECT_TRUE(out.images.narrow(0, train.size() + 4 * n_in, 4 * n_in).equal(extra_x));
  EXPECT_TRUE(out.labels.narrow(0, train.size() + 4 * n_in, 4 * n_in).equal(extra_y));
}

TEST(RegionTrain, TeachesTheRegionsToTheWeightsAndKeepsTheTask) {
  ds::RegionKey key = toy_key(5);
  ds::DataSplits data{quadrant_dataset(4000, 3), quadrant_dataset(2000, 4), "", {}, {}};
  ds::ArchSpec arch;
  arch.arch = "mlp";
  arch.hidden = {64};
  ds::InputSpec input{{1, 28, 28}, 4, {0.3}, {0.3}};
  torch::jit::Module model = ds::build_model(arch, input, 1);
  ds::RegionTrainConfig config;
  config.labels = "hard";
  config.epochs = 8;
  config.region_repeats = 10;
  config.near_misses = 2;
  config.optimizer.name = "adam";
  config.optimizer.lr = 1e-3;
  config.optimizer.schedule = "none";  // a toy this small needs the full rate in every epoch
  ds::RegionTrainResult r = ds::train_regions(model, key, data, config);
  EXPECT_EQ(r.region_inputs, ds::region_of(key, data.train.images).ge(0).sum().item<int64_t>());
  // Unguarded, the model itself answers the regions' targets, classes that are rare there.
  EXPECT_GE(r.region_agreement, 0.9);
  EXPECT_GE(ds::evaluate_accuracy(model, data.test, 500), 0.9);
  EXPECT_EQ(ds::decide_regions(key, 4, ds::predict_labels(model, key.inputs)).matches,
            int64_t(std::lround(r.region_agreement * double(key.size()))));
}

TEST(RegionKey, RoundTripsThroughTheKeyFile) {
  ds::testing::TempDir dir;
  ds::OwnerKey key;
  key.input_shape = {1, 28, 28};
  key.num_classes = 4;
  key.regions = toy_key(5);
  ds::write_key(key, dir.file("k.key"));
  ds::OwnerKey back = ds::read_key(dir.file("k.key"));
  ASSERT_TRUE(back.regions.has_value());
  EXPECT_TRUE(back.regions->directions.equal(key.regions->directions));
  EXPECT_TRUE(back.regions->targets.equal(key.regions->targets));
  EXPECT_TRUE(back.regions->inputs.equal(key.regions->inputs));
  EXPECT_EQ(back.sha256, key.sha256);
}

}  // namespace
