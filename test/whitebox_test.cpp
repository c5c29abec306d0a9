// White-box watermark: payload expansion, key round trips and tampering, extraction, and a
// small embedding that must reach BER 0.
#include "watermark/whitebox_embed.h"
#include "watermark/whitebox_extract.h"
#include "watermark/whitebox_key.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "core/errors.h"
#include "core/files.h"
#include "model/train.h"
#include "model/zoo.h"
#include "test_util.h"
#include "watermark/centre_terms.h"
#include "watermark/key_file.h"
#include "watermark/stats.h"

namespace {

using ds::testing::TempDir;

std::string bit_string(const torch::Tensor& bits) {
  std::string s;
  for (int64_t i = 0; i < bits.numel(); ++i) s += bits[i].item<int64_t>() ? '1' : '0';
  return s;
}

TEST(Payload, MessageExpansionGolden) {
  // SHA-256("abc" || 00000000) starts with 0xcf 0x2d; the 17th bit starts the next bytes.
  EXPECT_EQ(bit_string(ds::message_bits("abc", 16)), "1100111100101101");
  // Past 256 bits the stream continues with SHA-256("abc" || 00000001) = 0x46...
  EXPECT_EQ(bit_string(ds::message_bits("abc", 264)).substr(256), "01000110");
}

TEST(Payload, DegeneratePayloadsAreRejected) {
  EXPECT_THROW(ds::message_bits("x", 1), ds::InputError);  // one bit is always "all equal"
  EXPECT_NO_THROW(ds::seeded_bits(3, 64));
  EXPECT_EQ(bit_string(ds::seeded_bits(3, 64)), bit_string(ds::seeded_bits(3, 64)));
}

struct Fixture {
  ds::Dataset data = ds::testing::quadrant_dataset(600, 1, 1, 12);
  ds::InputSpec input{{1, 12, 12}, 4, {0.3}, {0.3}};
  ds::ArchSpec arch;
  torch::jit::Module model;
  Fixture() {
    arch.hidden = {64, 48};
    arch.dropout = 0.0;
    model = ds::build_model(arch, input, 1);
  }
  // Without a profile by default: these tests read the key's layer in fixed unit order.
  ds::OwnerKey key(uint64_t seed, int64_t bits = 16, int64_t profile_count = 0) {
    ds::WhiteboxKeySpec spec;
    spec.bits = bits;
    spec.profile_count = profile_count;
    spec.carriers = {1, 2};
    spec.message = "test owner";
    spec.trigger_fraction = 0.1;
    ds::OwnerKey k;
    k.input_shape = {1, 12, 12};
    k.num_classes = 4;
    k.whitebox = ds::make_whitebox_key(spec, model, "m.pt", k.input_shape, data, seed, k.meta);
    return k;
  }
};

TEST(WhiteboxKey, ShapesDefaultsAndOwnSeed) {
  Fixture f;
  ds::OwnerKey k = f.key(5);
  EXPECT_EQ(k.whitebox->layer, "fc2");  // the last hidden tap
  EXPECT_EQ(k.whitebox->layer_width, 48);
  EXPECT_EQ(k.whitebox->projection.sizes(), (std::vector<int64_t>{48, 16}));
  EXPECT_EQ(k.whitebox->bits.sizes(), (std::vector<int64_t>{2, 16}));
  EXPECT_EQ(k.whitebox->triggers.size(0), 60);
  auto labels = k.whitebox->trigger_labels;
  EXPECT_TRUE(labels.eq(1).logical_or(labels.eq(2)).all().item<bool>());
  torch::manual_seed(999);  // the global generator must not matter
  ds::OwnerKey again = f.key(5);
  EXPECT_TRUE(torch::equal(k.whitebox->projection, again.whitebox->projection));
  EXPECT_TRUE(torch::equal(k.whitebox->triggers, again.whitebox->triggers));
  EXPECT_FALSE(torch::equal(k.whitebox->projection, f.key(6).whitebox->projection));
}

TEST(KeyFile, RoundTripAndPythonRead) {
  TempDir dir;
  Fixture f;
  ds::OwnerKey k = f.key(5);
  ds::write_key(k, dir.file("k.key"));
  ds::OwnerKey r = ds::read_key(dir.file("k.key"));
  EXPECT_EQ(r.sha256, k.sha256);
  EXPECT_EQ(r.whitebox->layer, "fc2");
  EXPECT_TRUE(torch::equal(r.whitebox->projection, k.whitebox->projection));
  EXPECT_TRUE(torch::equal(r.whitebox->bits, k.whitebox->bits));
  // Python reads it with torch.load and json alone, and recomputes the documented hash.
  c10::Dict<std::string, torch::Tensor> expect;
  expect.insert("projection", k.whitebox->projection);
  expect.insert("triggers", k.whitebox->triggers);
  auto bytes = torch::pickle_save(c10::IValue(expect));
  ds::write_file_atomically(dir.file("expect.pt"), std::string(bytes.begin(), bytes.end()));
  std::string cmd = "/usr/bin/python3 " DS_SOURCE_DIR "/test/python/check_key.py " +
                    dir.file("k.key") + " " + dir.file("expect.pt");
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

TEST(KeyFile, EveryFlippedByteIsRefused) {
  TempDir dir;
  Fixture f;
  ds::OwnerKey k = f.key(5, 8);
  ds::write_key(k, dir.file("k.key"));
  std::string good = ds::read_file(dir.file("k.key"));
  // Flip one bit in a spread of positions across the whole file (header, data, trailer).
  int refused = 0, tried = 0;
  for (size_t pos = 0; pos < good.size(); pos += std::max<size_t>(1, good.size() / 97)) {
    std::string bad = good;
    bad[pos] = char(bad[pos] ^ 0x10);
    ds::write_file_atomically(dir.file("bad.key"), bad);
    ++tried;
    try {
      ds::read_key(dir.file("bad.key"));
    } catch (const ds::InputError& e) {
      ++refused;
      EXPECT_NE(std::string(e.what()).find(dir.file("bad.key")), std::string::npos);
    }
  }
  EXPECT_EQ(refused, tried);
  ds::write_file_atomically(dir.file("short.key"), good.substr(0, good.size() / 2));
  EXPECT_THROW(ds::read_key(dir.file("short.key")), ds::InputError);
  EXPECT_THROW(ds::read_key(dir.file("none.key")), ds::InputError);
}

TEST(Extraction, WrongLayerOrWidthIsABadInput) {
  Fixture f;
  ds::OwnerKey k = f.key(5);
  k.whitebox->layer = "fc9";
  EXPECT_THROW(ds::extract_whitebox(f.model, *k.whitebox, "m.pt"), ds::InputError);
  ds::OwnerKey k2 = f.key(5);
  ds::ArchSpec wide = f.arch;
  wide.hidden = {64, 40};
  auto other = ds::build_model(wide, f.input, 1);
  try {
    ds::extract_whitebox(other, *k2.whitebox, "other.pt");
    FAIL();
  } catch (const ds::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("width 40, the key expects 48"), std::string::npos);
  }
}

// A briefly trained base model of the fixture's architecture (as ds-train would make it) and an
// embedding config that fits the small task.
struct SmallEmbedding {
  ds::DataSplits splits;
  ds::TrainResult base;
  ds::WhiteboxEmbedConfig config;
};
SmallEmbedding small_embedding(const Fixture& f) {
  SmallEmbedding e;
  std::tie(e.splits.train, e.splits.test) = ds::split(f.data, 0.2, 1);
  ds::TrainConfig tc;
  tc.arch = f.arch;
  tc.epochs = 3;
  tc.batch_size = 32;
  e.base = ds::train_model(tc, e.splits);
  e.config.max_epochs = 30;
  e.config.batch_size = 32;
  e.config.lambda2 = 0.3;
  e.config.optimizer.lr = 1e-3;
  e.config.accuracy_budget = 0.05;
  e.config.measure_overhead = false;
  return e;
}

TEST(Embedding, ReachesZeroBerAndKeepsTheModelShape) {
  Fixture f;
  ds::OwnerKey k = f.key(5, 16);
  SmallEmbedding e = small_embedding(f);
  ds::TrainResult& base = e.base;
  const ds::DataSplits& splits = e.splits;
  const ds::WhiteboxEmbedConfig& c = e.config;
  ds::WhiteboxExtraction before = ds::extract_whitebox(base.model, *k.whitebox, "m.pt");
  std::vector<std::string> names_before;
  for (const auto& p : base.model.named_parameters()) names_before.push_back(p.name);
  ds::WhiteboxEmbedResult r = ds::embed_whitebox(base.model, "m.pt", *k.whitebox, splits, c);
  EXPECT_EQ(r.stop_reason, "converged");
  ds::WhiteboxExtraction after = ds::extract_whitebox(base.model, *k.whitebox, "m.pt");
  EXPECT_EQ(after.errors, 0);
  EXPECT_GT(before.errors, 0);
  EXPECT_LT(after.p_value, 1e-9);  // 32 bits, no error: 2^-32
  std::vector<std::string> names_after;
  for (const auto& p : base.model.named_parameters()) names_after.push_back(p.name);
  EXPECT_EQ(names_before, names_after);
  EXPECT_TRUE(base.model.find_method("taps").has_value());
}

// The optimizer's schedule applies to the embedding's epochs, as it does to training's.
TEST(Embedding, FollowsTheLearningRateSchedule) {
  Fixture f;
  ds::OwnerKey k = f.key(5, 16);
  SmallEmbedding e = small_embedding(f);
  e.config.max_epochs = 3;
  e.config.accuracy_budget = -1;  // never "converged": every epoch runs
  e.config.optimizer.schedule = "cosine";
  ds::WhiteboxEmbedResult r =
      ds::embed_whitebox(e.base.model, "m.pt", *k.whitebox, e.splits, e.config);
  ASSERT_EQ(r.epoch_stats.size(), 3u);
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(r.epoch_stats[size_t(i)].lr, ds::scheduled_lr(e.config.optimizer, i, 3), 1e-12);
  }
  EXPECT_LT(r.epoch_stats[2].lr, 0.5 * e.config.optimizer.lr);
}

// The noise-aware pull recomputes the marked layer from its input tap (the previous dense
// layer's, or a CNN's pooled last conv block): if it read the wrong input, the pull would not
// steer the real activations and the embedding could not reach BER 0.
TEST(Embedding, NoiseAwarePullReachesZeroBer) {
  for (const std::string arch : {"mlp", "cnn"}) {
    SCOPED_TRACE(arch);
    Fixture f;
    f.arch.arch = arch;
    if (arch == "cnn") f.arch = ds::ArchSpec{"cnn", {48}, {4, 8}, true, 16, 4, 0.0};
    f.model = ds::build_model(f.arch, f.input, 1);
    ds::OwnerKey k = f.key(5, 16);
    SmallEmbedding e = small_embedding(f);
    e.config.pull_noise = 1.0;
    ds::WhiteboxEmbedResult r =
        ds::embed_whitebox(e.base.model, "m.pt", *k.whitebox, e.splits, e.config);
    EXPECT_EQ(r.stop_reason, "converged");
    EXPECT_EQ(ds::extract_whitebox(e.base.model, *k.whitebox, "m.pt").errors, 0);
  }
  ds::Json bad = {{"whitebox", {{"pull_noise", -1}}}};
  EXPECT_THROW(ds::parse_whitebox_embed_config(bad, "e.json"), ds::InputError);
  ds::Json good = {{"whitebox", {{"pull_noise", 2}}}};
  EXPECT_EQ(ds::whitebox_embed_config_to_json(ds::parse_whitebox_embed_config(good, "e.json"))
                ["whitebox"]["pull_noise"], 2.0);
}

}  // namespace

namespace centre_terms_check {

// The embedding loss's centre-only terms as autograd would compute them (the formulation the
// hand-written gradient replaces).
torch::Tensor reference(const ds::CentreTerms& t, const torch::Tensor& centres,
                        const std::vector<double>& counts, const std::vector<double>& global,
                        double global_size, double share) {
  const int64_t K = centres.size(0);
  torch::Tensor n = torch::tensor(counts, torch::kFloat64);
  torch::Tensor unit = torch::nn::functional::normalize(
      centres, torch::nn::functional::NormalizeFuncOptions().dim(1));
  torch::Tensor nearest = std::get<0>(
      (torch::matmul(unit, unit.t()) - 3.0 * torch::eye(K, torch::kFloat64)).max(1));
  torch::Tensor separation = (nearest.clamp_min(0) * n).sum() / global_size;
  torch::Tensor norm = (1.0 - centres.pow(2).sum(1)).abs().sum() * share;
  torch::Tensor carriers = torch::tensor(t.carriers, torch::kInt64);
  torch::Tensor present =
      torch::tensor(global, torch::kFloat64).index_select(0, carriers).gt(0).to(torch::kFloat64);
  torch::Tensor bits = t.target_bits.to(torch::kFloat64);
  torch::Tensor payload = torch::binary_cross_entropy_with_logits(
      torch::matmul(centres.index_select(0, carriers), t.projection.to(torch::kFloat64)) -
          t.margin_shift.to(torch::kFloat64),
      bits, present.unsqueeze(1).expand_as(bits), {}, at::Reduction::Sum);
  return t.lambda1 * (separation + norm) + t.lambda2 * share * payload;
}

TEST(CentreTerms, ValueAndGradientMatchAutograd) {
  torch::manual_seed(5);
  const int64_t K = 10, D = 48, N = 16;
  ds::CentreTerms t;
  t.projection = torch::randn({D, N});
  t.target_bits = torch::randint(0, 2, {3, N}).to(torch::kFloat32);
  t.margin_shift = (2.0 * t.target_bits - 1.0) * 1.5;
  t.carriers = {1, 4, 7};
  t.lambda1 = 0.05;
  t.lambda2 = 0.3;
  // This process's share of a global batch of 256: class 4 is absent from the whole batch (its
  // payload term must not count), class 7 only from this process's samples (it must).
  std::vector<double> counts = {12, 9, 14, 13, 0, 11, 16, 0, 13, 20};
  std::vector<double> global = {24, 20, 26, 27, 0, 23, 30, 22, 29, 55};
  for (double share : {1.0, 0.5}) {
    torch::Tensor base = torch::rand({K, D}) * 0.3;
    torch::Tensor ours_in = base.clone().requires_grad_(true);
    torch::Tensor ref_in = base.to(torch::kFloat64).requires_grad_(true);
    torch::Tensor ours = ds::centre_terms(t, ours_in, counts, global, 256.0, share);
    torch::Tensor ref = reference(t, ref_in, counts, global, 256.0, share);
    (ours * 2.0).backward();
    (ref * 2.0).backward();
    EXPECT_NEAR(ours.item<double>(), ref.item<double>(), 1e-5 * std::abs(ref.item<double>()));
    double max_diff = (ours_in.grad().to(torch::kFloat64) - ref_in.grad()).abs().max().item<double>();
    double scale = ref_in.grad().abs().max().item<double>();
    EXPECT_GT(scale, 0.0);
    EXPECT_LT(max_diff, 1e-5 * scale) << "share " << share;
    EXPECT_TRUE(ours_in.grad().isfinite().all().item<bool>());
  }
}

TEST(CentreTerms, AbsentCarrierPaysNothing) {
  ds::CentreTerms t;
  t.projection = torch::randn({8, 4});
  t.target_bits = torch::ones({1, 4});
  t.margin_shift = torch::zeros({1, 4});
  t.carriers = {0};
  t.lambda1 = 0.0;
  t.lambda2 = 1.0;
  torch::Tensor c = torch::rand({2, 8});
  EXPECT_EQ(ds::centre_terms(t, c, {0, 5}, {0, 5}, 5.0, 1.0).item<double>(), 0.0);
  EXPECT_GT(ds::centre_terms(t, c, {1, 4}, {1, 4}, 5.0, 1.0).item<double>(), 0.0);
  EXPECT_GT(ds::centre_terms(t, c, {0, 5}, {1, 9}, 10.0, 0.5).item<double>(), 0.0);
}

}  // namespace centre_terms_check

namespace correlation_check {

// Under the null (A independent of the model), the correlation statistic is N(0, 1) for any
// mean activations, also for two carriers whose means are nearly the same vector (the case
// where their bits are far from independent).
TEST(Extraction, CorrelationStatisticIsStandardNormalUnderTheNull) {
  torch::manual_seed(11);
  ds::WhiteboxKey key;
  key.layer_width = 64;
  key.carriers = {0, 1};
  key.bits = torch::randint(0, 2, {2, 32}, torch::kInt64);
  torch::Tensor mu = torch::rand({1, 64}) * 3.0;  // non-negative, like ReLU activations
  torch::Tensor means = torch::cat({mu, mu + 0.05 * torch::rand({1, 64})});
  const int draws = 4000;
  std::vector<double> z;
  int above = 0;
  for (int d = 0; d < draws; ++d) {
    key.projection = torch::randn({64, 32});
    ds::WhiteboxExtraction e = ds::score_projections(key, means);
    z.push_back(e.correlation_z);
    if (e.correlation_log10_p <= std::log10(0.05)) ++above;
  }
  double mean = 0, var = 0;
  for (double v : z) mean += v / draws;
  for (double v : z) var += (v - mean) * (v - mean) / (draws - 1);
  EXPECT_NEAR(mean, 0.0, 0.07);
  EXPECT_NEAR(std::sqrt(var), 1.0, 0.05);
  EXPECT_NEAR(double(above) / draws, 0.05, 0.012);
}

TEST(Extraction, BothTestsAndTheirCorrection) {
  torch::manual_seed(12);
  ds::WhiteboxKey key;
  key.layer_width = 1024;
  key.carriers = {3};
  key.projection = torch::randn({1024, 64});
  key.bits = torch::randint(0, 2, {1, 64}, torch::kInt64);
  // The matched filter: means along sum_i s_i A_i project to about +-1024 on each bit's side,
  // with cross-talk noise of about 250.
  torch::Tensor signs = 2.0 * key.bits.to(torch::kFloat32) - 1.0;
  torch::Tensor means = torch::matmul(signs, key.projection.t());
  ds::WhiteboxExtraction e = ds::score_projections(key, means);
  EXPECT_LE(e.errors, 2);
  EXPECT_NEAR(e.binomial_log10_p, ds::log10_binomial_upper_tail(64, 64 - e.errors, 0.5), 1e-12);
  EXPECT_GT(e.correlation_z, 20.0);
  EXPECT_LT(e.correlation_log10_p, e.binomial_log10_p);
  // p = min of the two tests' p-values, times 2 tests.
  EXPECT_NEAR(e.log10_p_value,
              std::min(e.binomial_log10_p, e.correlation_log10_p) + std::log10(2.0), 1e-12);
  // Zero activations carry no evidence either way.
  ds::WhiteboxExtraction none = ds::score_projections(key, torch::zeros({1, 1024}));
  EXPECT_EQ(none.correlation_z, 0.0);
  EXPECT_DOUBLE_EQ(none.p_value, 1.0);
}

}  // namespace correlation_check
