// Attacks on a small model: requested sparsity, bounded distinct values after quantisation,
// noise changes weights, and function-preserving transforms keep the outputs exactly (up to
// float rounding) while changing the weights and the marked layer's activations.
#include "attacks.h"

#include <gtest/gtest.h>

#include <set>

#include "errors.h"
#include "zoo.h"

namespace {

torch::jit::Module small_mlp() {
  ds::ArchSpec a;
  a.hidden = {32, 24};
  a.dropout = 0.0;
  auto m = ds::build_model(a, ds::InputSpec{{1, 8, 8}, 5, {0.5}, {0.25}}, 3);
  m.eval();
  return m;
}

torch::Tensor weight(const torch::jit::Module& m, const std::string& name) {
  for (const auto& p : m.named_parameters()) {
    if (p.name == name) return p.value;
  }
  return {};
}

TEST(Attacks, GlobalAndPerLayerPruningReachTheRequestedSparsity) {
  auto m = small_mlp();
  for (bool global : {true, false}) {
    auto p = ds::prune_magnitude(m, 0.7, global, false);
    int64_t zeros = 0, total = 0;
    for (const auto& n : ds::attackable_weights(p)) {
      zeros += weight(p, n).eq(0).sum().item<int64_t>();
      total += weight(p, n).numel();
    }
    EXPECT_NEAR(double(zeros) / double(total), 0.7, 0.01) << "global " << global;
  }
  EXPECT_EQ(weight(m, "fc1.weight").eq(0).sum().item<int64_t>(), 0) << "input modified";
}

TEST(Attacks, StructuredPruningRemovesWholeUnits) {
  auto p = ds::prune_magnitude(small_mlp(), 0.5, false, true);
  auto rows = weight(p, "fc1.weight").abs().sum(1);
  EXPECT_EQ(rows.eq(0).sum().item<int64_t>(), 16);
}

TEST(Attacks, QuantisationBoundsDistinctValues) {
  for (bool per_channel : {false, true}) {
    auto q = ds::quantize_weights(small_mlp(), 4, per_channel);
    auto w = weight(q, "fc1.weight");
    if (per_channel) {
      for (int64_t r = 0; r < w.size(0); ++r) {
        EXPECT_LE(std::get<0>(at::_unique(w[r])).numel(), 16);
      }
    } else {
      EXPECT_LE(std::get<0>(at::_unique(w)).numel(), 16);
    }
    EXPECT_FALSE(torch::equal(w, weight(small_mlp(), "fc1.weight")));
  }
}

TEST(Attacks, NoiseChangesWeights) {
  auto m = small_mlp();
  auto n = ds::add_weight_noise(m, 0.1, 1);
  EXPECT_FALSE(torch::equal(weight(m, "fc2.weight"), weight(n, "fc2.weight")));
  auto rel = (weight(m, "fc2.weight") - weight(n, "fc2.weight")).std() /
             weight(m, "fc2.weight").std();
  EXPECT_NEAR(rel.item<double>(), 0.1, 0.02);
}

TEST(Attacks, PermutationAndScalingPreserveTheFunction) {
  auto m = small_mlp();
  auto x = torch::rand({64, 1, 8, 8});
  auto y = m.forward({x}).toTensor();
  auto p = ds::permute_units(m, "fc2", 5);
  auto s = ds::scale_units(p, "fc2", 0.5, 4.0, 6);
  for (auto* t : {&p, &s}) {
    t->eval();
    EXPECT_TRUE(torch::allclose(t->forward({x}).toTensor(), y, 1e-4, 1e-5));
  }
  EXPECT_FALSE(torch::equal(weight(m, "fc2.weight"), weight(s, "fc2.weight")));
  auto before = ds::call_taps(m, x, "m").at("fc2");
  auto after = ds::call_taps(s, x, "s").at("fc2");
  EXPECT_FALSE(torch::allclose(before, after));
  EXPECT_THROW(ds::permute_units(m, "fc3", 1), ds::InputError);  // no fc4 after it
  EXPECT_THROW(ds::scale_units(m, "conv1", 1, 2, 1), ds::InputError);
}

}  // namespace
