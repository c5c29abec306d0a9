// Attacks on a small model: requested sparsity, bounded distinct values after quantisation,
// noise changes weights, and function-preserving transforms keep the outputs exactly (up to
// float rounding) while changing the weights and the marked layer's activations.
#include <gtest/gtest.h>

#include <set>

#include "attack/registry.h"
#include "attack/serving_attacks.h"
#include "attack/sweep_plan.h"
#include "attack/training_attacks.h"
#include "attack/unit_attacks.h"
#include "attack/weight_attacks.h"
#include "attack/weight_shift_attack.h"
#include "core/errors.h"
#include "jobs/sweep_job.h"
#include "model/model_io.h"
#include "model/topology.h"
#include "model/zoo.h"
#include "test_util.h"

namespace {

torch::jit::Module small_mlp() {
  ds::ArchSpec a;
  a.hidden = {32, 24};
  a.dropout = 0.0;
  auto m = ds::build_model(a, ds::InputSpec{{1, 8, 8}, 5, {0.5}, {0.25}}, 3);
  m.eval();
  return m;
}

// A small MLP on the 12x12 quadrant task with the description a zoo model carries.
struct Described {
  torch::jit::Module model;
  ds::Json info;
};
Described described_mlp() {
  ds::ArchSpec a;
  a.hidden = {32, 24};
  a.dropout = 0.0;
  ds::InputSpec in{{1, 12, 12}, 4, {0.5}, {0.25}};
  Described d{ds::build_model(a, in, 9), ds::Json::object()};
  d.model.eval();
  d.info = ds::Json{{"arch", ds::arch_spec_to_json(a)},
                    {"input_shape", in.shape},
                    {"num_classes", in.num_classes},
                    {"normalization", {{"mean", in.mean}, {"std", in.std}}}};
  return d;
}

std::map<std::string, std::vector<int64_t>> shapes(const torch::jit::Module& m) {
  std::map<std::string, std::vector<int64_t>> out;
  for (const auto& p : m.named_parameters()) out[p.name] = p.value.sizes().vec();
  return out;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
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

TEST(Attacks, DummyUnitsPreserveTheFunctionAndWidenTheLayer) {
  Described d = described_mlp();
  auto x = torch::rand({64, 1, 12, 12});
  auto y = d.model.forward({x}).toTensor();
  ds::Json info = d.info;
  auto w = ds::add_dummy_units(d.model, info, "fc1", 8, true, 3);
  EXPECT_TRUE(torch::allclose(w.forward({x}).toTensor(), y, 1e-4, 1e-5));
  EXPECT_EQ(weight(w, "fc1.weight").size(0), 40);
  EXPECT_EQ(weight(w, "fc2.weight").size(1), 40);
  EXPECT_EQ(info["arch"]["hidden"], ds::Json({40, 24}));
  EXPECT_EQ(d.info["arch"]["hidden"], ds::Json({32, 24})) << "input description modified";
  EXPECT_EQ(ds::call_taps(w, x, "w").at("fc1").size(1), 40);
  // A model without a description (made elsewhere) is widened from its graph alone.
  ds::Json bare = ds::Json::object();
  auto b = ds::add_dummy_units(d.model, bare, "fc1", 8, true, 3);
  EXPECT_TRUE(torch::allclose(b.forward({x}).toTensor(), y, 1e-4, 1e-5));
  EXPECT_THROW(ds::add_dummy_units(d.model, bare, "fc9", 8, true, 3), ds::InputError);
}

TEST(Attacks, FineTuningChangesWeightsAndKeepsTheArchitecture) {
  Described d = described_mlp();
  ds::Dataset data = ds::testing::quadrant_dataset(256, 2, 1, 12);
  EXPECT_EQ(ds::last_dense_layer(d.model), "fc3");
  for (std::string mode : {"ftll", "ftal", "rtll", "rtal"}) {
    ds::FinetuneSpec spec;
    spec.mode = mode;
    spec.optimizer.lr = 0.01;
    spec.epochs = 2;
    ds::AttackTraining t = ds::finetune_model(d.model, spec, data, 4);
    EXPECT_EQ(shapes(t.model), shapes(d.model)) << mode;
    EXPECT_EQ(t.epochs.size(), 2u);
    EXPECT_FALSE(torch::equal(weight(t.model, "fc3.weight"), weight(d.model, "fc3.weight"))) << mode;
    bool last_only = mode == "ftll" || mode == "rtll";
    EXPECT_EQ(torch::equal(weight(t.model, "fc1.weight"), weight(d.model, "fc1.weight")), last_only)
        << mode << ": earlier layers must change only when all layers train";
  }
  ds::FinetuneSpec bad;
  bad.mode = "xx";
  EXPECT_THROW(ds::finetune_model(d.model, bad, data, 1), ds::InputError);
}

TEST(Attacks, DistillationTrainsAFreshStudentOnSoftLabels) {
  Described d = described_mlp();
  ds::Dataset data = ds::testing::quadrant_dataset(256, 3, 1, 12);
  ds::DistillSpec spec;
  spec.student = ds::parse_arch_spec(ds::ConfigObject(d.info["arch"], "t", "arch"));
  spec.epochs = 3;
  spec.optimizer.lr = 0.01;
  ds::InputSpec input;
  ds::AttackTraining t = ds::distill_model(d.model, spec, data, 5, &input);
  EXPECT_EQ(shapes(t.model), shapes(d.model));
  EXPECT_FALSE(torch::equal(weight(t.model, "fc1.weight"), weight(d.model, "fc1.weight")));
  ASSERT_EQ(t.epochs.size(), 3u);
  EXPECT_LT(t.epochs.back().loss, t.epochs.front().loss);
  EXPECT_EQ(input.shape, (std::vector<int64_t>{1, 12, 12}));
}

TEST(Attacks, OverwriteEmbedsTheAttackersOwnMarksWithFreshSeeds) {
  Described d = described_mlp();
  ds::LoadedModel model{d.model, d.info, "m.pt", "0"};
  ds::DataSplits data{ds::testing::quadrant_dataset(512, 4, 1, 12),
                      ds::testing::quadrant_dataset(128, 5, 1, 12), "", {}, {}};
  ds::Json config = ds::Json::parse(R"({
    "attack": "overwrite", "marks": "both", "epochs": 2, "attacker_fraction": 0.5,
    "data": {"format": "idx", "path": "/unused"},
    "whitebox_key": {"bits": 16, "trigger_fraction": 0.2},
    "whitebox_embed": {"accuracy_budget": 1.0, "optimizer": {"name": "adam", "lr": 0.001}},
    "blackbox_key": {"keys": 4, "candidate_factor": 10}})");
  ds::AttackSpec spec = ds::parse_attack_spec(config, "o.json");
  ds::Dataset attacker = ds::attacker_dataset(spec, data, nullptr);
  EXPECT_EQ(attacker.size(), 256);
  ds::AttackResult r = ds::apply_attack(spec, model, &data, &attacker);
  EXPECT_EQ(shapes(r.model), shapes(d.model));
  EXPECT_FALSE(torch::equal(weight(r.model, "fc1.weight"), weight(d.model, "fc1.weight")));
  ASSERT_TRUE(r.details.contains("whitebox"));
  EXPECT_EQ(r.details["whitebox"]["bits"], 16);
  EXPECT_EQ(r.details["whitebox"]["layer"], "fc2");
  EXPECT_LE(r.details["whitebox"]["epochs"].get<int>(), 2);
  ASSERT_TRUE(r.details.contains("blackbox"));
}

TEST(Attacks, WeightShiftMovesTheFeatureLayersThenTunesOnSoftLabels) {
  Described d = described_mlp();
  std::vector<std::string> shifted;
  torch::jit::Module m = ds::shift_weights(d.model, 1.5, 0.0, 1, &shifted);
  EXPECT_EQ(shifted, (std::vector<std::string>{"fc1.weight", "fc2.weight"}));
  EXPECT_TRUE(torch::equal(weight(m, "fc3.weight"), weight(d.model, "fc3.weight")));
  // Without noise each input's mean over the units moves from mu to mu - 1.5 mu.
  torch::Tensor before = weight(d.model, "fc1.weight").mean(0), after = weight(m, "fc1.weight").mean(0);
  EXPECT_TRUE(torch::allclose(after, -0.5 * before, 1e-4, 1e-6));
  torch::jit::Module a = ds::shift_weights(d.model, 1.5, 1.0, 7), b = ds::shift_weights(d.model, 1.5, 1.0, 7);
  EXPECT_TRUE(torch::equal(weight(a, "fc2.weight"), weight(b, "fc2.weight")));
  EXPECT_FALSE(torch::equal(weight(a, "fc2.weight"), weight(m, "fc2.weight")));
  EXPECT_THROW(ds::shift_weights(d.model, 1.5, -1.0, 7), ds::InputError);

  ds::LoadedModel model{d.model, d.info, "m.pt", "0"};
  ds::DataSplits data{ds::testing::quadrant_dataset(256, 6, 1, 12),
                      ds::testing::quadrant_dataset(64, 7, 1, 12), "", {}, {}};
  ds::AttackSpec spec = ds::parse_attack_spec(
      ds::Json::parse(R"({"attack": "weight_shift", "epochs": 3, "attacker_fraction": 1.0,
                          "data": {"format": "idx", "path": "/unused"}})"),
      "w.json");
  ds::Dataset attacker = ds::attacker_dataset(spec, data, nullptr);
  ds::AttackResult r = ds::apply_attack(spec, model, &data, &attacker);
  EXPECT_EQ(shapes(r.model), shapes(d.model));
  EXPECT_EQ(r.details["shifted"].size(), 2u);
  ASSERT_EQ(r.details["epochs"].size(), 3u);
  EXPECT_LT(r.details["epochs"][2]["loss"].get<double>(), r.details["epochs"][0]["loss"].get<double>())
      << "fine-tuning on the unshifted model's soft labels must pull the shifted model back";
}

TEST(Attacks, ServingFiltersWrapTheModelSoBothVerificationModesSeeThem) {
  Described d = described_mlp();
  torch::Tensor x = ds::testing::quadrant_dataset(16, 8, 1, 12).images;
  ds::InputFilter bits;
  bits.kind = "bits";
  bits.bits = 8;
  torch::jit::Module served = ds::serve_behind_filter(d.model, bits);
  torch::NoGradGuard no_grad;
  torch::Tensor xq = torch::round(x * 255.0) / 255.0;
  auto inner_taps = ds::call_taps(d.model, xq, "m.pt"), served_taps = ds::call_taps(served, x, "s.pt");
  EXPECT_EQ(served_taps.size(), inner_taps.size());
  EXPECT_TRUE(torch::allclose(served_taps.at("fc2"), inner_taps.at("fc2")));
  EXPECT_TRUE(torch::allclose(served.forward({x}).toTensor(), d.model.forward({xq}).toTensor()));

  // A median filter removes a lone bright pixel; a box mean keeps a constant image constant.
  ds::InputFilter median;
  median.kind = "median";
  torch::Tensor dot = torch::zeros({1, 1, 12, 12});
  dot[0][0][5][5] = 1.0;
  torch::jit::Module m = ds::serve_behind_filter(d.model, median);
  EXPECT_EQ(m.get_method("pre")({dot}).toTensor().abs().sum().item<double>(), 0.0);
  ds::InputFilter smooth;
  smooth.size = 5;
  torch::Tensor flat = torch::full({1, 1, 12, 12}, 0.3);
  torch::Tensor smoothed = ds::serve_behind_filter(d.model, smooth).get_method("pre")({flat}).toTensor();
  EXPECT_TRUE(torch::allclose(smoothed, flat));

  // Gaussian: a constant image stays constant (edges replicated); a lone dot spreads into the
  // sampled kernel, its mass kept, and a wider sigma spreads it further.
  ds::InputFilter gauss;
  gauss.kind = "gaussian";
  auto blur = [&](double sigma, const torch::Tensor& img) {
    gauss.sigma = sigma;
    return ds::serve_behind_filter(d.model, gauss).get_method("pre")({img}).toTensor();
  };
  EXPECT_TRUE(torch::allclose(blur(0.8, flat), flat));
  torch::Tensor spread = blur(0.5, dot);
  EXPECT_NEAR(spread.sum().item<double>(), 1.0, 1e-5);
  double centre = 1.0 / std::pow(1.0 + 2.0 * std::exp(-2.0) + 2.0 * std::exp(-8.0), 2.0);
  EXPECT_NEAR(spread[0][0][5][5].item<double>(), centre, 1e-5);
  EXPECT_LT(blur(1.5, dot)[0][0][5][5].item<double>(), 0.5 * centre);

  // JPEG-like: a constant image survives any quality; at quality 100 (steps of 1) every pixel
  // moves by a few grey levels at most; lower quality distorts pixel noise far more.
  ds::InputFilter jpeg;
  jpeg.kind = "jpeg";
  auto jpeg_pre = [&](int64_t quality, const torch::Tensor& img) {
    jpeg.quality = quality;
    return ds::serve_behind_filter(d.model, jpeg).get_method("pre")({img}).toTensor();
  };
  EXPECT_TRUE(torch::allclose(jpeg_pre(30, flat), flat, 0, 2.0 / 255));
  EXPECT_LE((jpeg_pre(100, x) - x).abs().max().item<double>(), 4.0 / 255);
  torch::manual_seed(3);
  torch::Tensor speckle = torch::rand({2, 1, 12, 12});
  double err10 = (jpeg_pre(10, speckle) - speckle).abs().mean().item<double>();
  double err90 = (jpeg_pre(90, speckle) - speckle).abs().mean().item<double>();
  EXPECT_GT(err10, 3 * err90);
  // Noise: the spread it adds is the configured scale (clamping aside, on a mid-grey image).
  ds::InputFilter noise;
  noise.kind = "noise";
  noise.scale = 0.1;
  torch::Tensor grey = torch::full({4, 1, 12, 12}, 0.5);
  torch::Tensor noisy = ds::serve_behind_filter(d.model, noise).get_method("pre")({grey}).toTensor();
  EXPECT_NEAR((noisy - grey).std().item<double>(), 0.1, 0.02);

  // The wrapped model saves and loads like any other.
  ds::testing::TempDir dir;
  ds::save_model(m, d.info, dir.file("served.pt"));
  ds::LoadedModel loaded = ds::load_model(dir.file("served.pt"));
  EXPECT_TRUE(torch::allclose(loaded.module.forward({x}).toTensor(), m.forward({x}).toTensor()));
}

TEST(AttackSpec, RejectsBadFieldsNamingThem) {
  auto msg = [](const ds::Json& j) {
    try {
      ds::parse_attack_spec(j, "a.json");
    } catch (const ds::InputError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  ds::Json data = {{"format", "idx"}, {"path", "/nonexistent"}};
  EXPECT_PRED2(starts_with, msg({{"attack", "finetune"}}), "a.json: field 'data' is required by the finetune attack");
  EXPECT_PRED2(starts_with, msg({{"attack", "finetune"}, {"data", data}, {"attacker_fraction", 0}}), "a.json: field 'attacker_fraction' must be in (0, 1]");
  EXPECT_PRED2(starts_with, msg({{"attack", "finetune"}, {"data", data}, {"mode", "ftxx"}}), "a.json: field 'mode' must be one of ftll, ftal, rtll, rtal");
  EXPECT_PRED2(starts_with, msg({{"attack", "prune"}, {"rate", "half"}}), "a.json: field 'rate' must be a number");
  EXPECT_PRED2(starts_with, msg({{"attack", "dummy"}, {"units", 0}}), "a.json: field 'units' must be a positive integer");
  EXPECT_PRED2(starts_with, msg({{"attack", "overwrite"}, {"data", data}, {"marks", "all"}}), "a.json: field 'marks' must be one of whitebox, blackbox, both");
  EXPECT_PRED2(starts_with, msg({{"attack", "prune"}, {"ratee", 0.5}}), "a.json: unknown field 'ratee'");
  EXPECT_PRED2(starts_with, msg({{"attack", "weight_shift"}, {"data", data}, {"noise", -1}}), "a.json: field 'noise' must be >= 0");
  EXPECT_PRED2(starts_with, msg({{"attack", "preprocess"}, {"filter", "median"}, {"size", 4}}), "a.json: field 'size' must be odd and at most 15");
  EXPECT_PRED2(starts_with, msg({{"attack", "preprocess"}, {"filter", "blur"}}), "a.json: field 'filter' must be one of smooth, gaussian, median, bits, noise, jpeg");
  EXPECT_PRED2(starts_with, msg({{"attack", "preprocess"}, {"filter", "gaussian"}, {"sigma", 0}}), "a.json: field 'sigma' must be in (0, 2] pixels");
  EXPECT_PRED2(starts_with, msg({{"attack", "overwrite"}, {"data", data}}), "accepted");
}

TEST(Sweep, ExpandsListsIntoPointsAndPicksTheStrengthAxis) {
  ds::Json j = ds::Json::parse(R"({
    "data": {"format": "idx", "path": "/nonexistent"}, "seed": 3, "workers": 2,
    "grid": [
      {"attack": "prune", "rate": [0, 0.5, 0.9]},
      {"label": "ft", "attack": "finetune", "mode": ["ftll", "rtal"], "lr": [0.001, 0.01],
       "epochs": [1, 2]},
      {"attack": ["permute", "scale"]},
      {"attack": "quantize", "bits": 4}
    ]})");
  ds::SweepPlan plan = ds::plan_sweep(j, "s.json");
  ASSERT_EQ(plan.panels.size(), 4u);
  ASSERT_EQ(plan.points.size(), 3u + 8u + 2u + 1u);
  EXPECT_EQ(plan.workers, 2);
  EXPECT_EQ(plan.panels[0].x_axis, "rate");
  EXPECT_EQ(plan.panels[1].x_axis, "epochs");
  EXPECT_EQ(plan.panels[1].label, "ft");
  EXPECT_EQ(plan.panels[2].x_axis, "attack");
  EXPECT_FALSE(plan.panels[2].x_numeric);
  EXPECT_EQ(plan.panels[3].x_axis, "");
  EXPECT_EQ(plan.points[1].setting, "rate=0.5");
  EXPECT_EQ(plan.points[1].config["seed"], 3);  // sweep-level defaults reach every point
  EXPECT_EQ(plan.points[3].series, "lr=0.001 mode=ftll");
  EXPECT_TRUE(plan.panels[1].x_numeric);
}

TEST(Sweep, RejectsABadGridBeforeAnyWork) {
  auto msg = [](const std::string& text) {
    try {
      ds::plan_sweep(ds::Json::parse(text), "s.json");
    } catch (const ds::InputError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_PRED2(starts_with, msg(R"({"grid": []})"), "s.json: field 'grid' must be a non-empty list of attack entries");
  EXPECT_PRED2(starts_with, msg(R"({"grid": [{"attack": "prune", "rate": [0.5, 1.5]}]})"), "s.json: grid[0] (rate=1.5): field 'rate' must be in [0, 1]");
  EXPECT_PRED2(starts_with, msg(R"({"grid": [{"attack": "prune", "rate": []}]})"), "s.json: grid[0]: field 'rate' is an empty list");
  EXPECT_PRED2(starts_with, msg(R"({"grid": [{"attack": "prune", "rate": [0.1], "x": "bits"}]})"), "s.json: grid[0]: field 'x' names 'bits', which is not a list in the entry");
  EXPECT_PRED2(starts_with, msg(R"({"workers": 0, "grid": [{"attack": "prune"}]})"), "s.json: field 'workers' must be a positive integer");
}

}  // namespace
