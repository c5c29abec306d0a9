// Scale hardening: the model computes the same function and the marked layer's activations
// are a positive multiple of the old ones (so the mark reads the same), while one Adam step
// moves the marked layer's weights 16 times less relative to their size.
#include "watermark/harden.h"

#include <gtest/gtest.h>

#include "attack/registry.h"
#include "attack/training_attacks.h"
#include "core/errors.h"
#include "model/layer_replay.h"
#include "model/model_io.h"
#include "model/train.h"
#include "model/zoo.h"
#include "watermark/whitebox_embed.h"
#include "watermark/whitebox_extract.h"
#include "watermark/whitebox_key.h"

namespace {

torch::jit::Module model_of(const std::string& arch, bool batch_norm) {
  ds::ArchSpec a;
  a.arch = arch;
  a.hidden = arch == "mlp" ? std::vector<int64_t>{32, 24} : std::vector<int64_t>{24};
  a.channels = {4, 6};
  a.batch_norm = batch_norm;
  a.dropout = 0.0;
  auto m = ds::build_model(a, ds::InputSpec{{1, 8, 8}, 5, {0.5}, {0.25}}, 3);
  torch::NoGradGuard no_grad;
  // Trained-looking batch-norm statistics and affine terms, so their rescaling matters.
  torch::manual_seed(5);
  for (const auto& b : m.named_buffers()) {
    if (b.name.find("running_var") != std::string::npos) b.value.uniform_(0.5, 2.0);
    if (b.name.find("running_mean") != std::string::npos) b.value.normal_(0.0, 0.3);
  }
  for (const auto& p : m.named_parameters()) {
    if (p.name.rfind("bn", 0) == 0) p.value.normal_(p.name.find("weight") != std::string::npos ? 1.0 : 0.0, 0.2);
  }
  m.eval();
  return m;
}

torch::Tensor tap(torch::jit::Module& m, const std::string& layer, const torch::Tensor& x) {
  return m.run_method("taps", x).toGenericDict().at(layer).toTensor();
}

torch::Tensor weight(const torch::jit::Module& m, const std::string& name) {
  for (const auto& p : m.named_parameters()) {
    if (p.name == name) return p.value;
  }
  throw std::runtime_error("no parameter " + name);
}

struct Case {
  std::string arch, layer;
  bool batch_norm;
};

TEST(Harden, PreservesTheFunctionAndScalesTheMarkedLayer) {
  torch::manual_seed(11);
  torch::Tensor x = torch::rand({32, 1, 8, 8});
  const ds::HardenSpec spec{16.0, 0.25};
  for (const Case& c : {Case{"mlp", "fc2", false}, Case{"mlp", "fc1", false},
                        Case{"cnn", "fc1", true}, Case{"cnn", "fc1", false}}) {
    SCOPED_TRACE(c.arch + " " + c.layer + (c.batch_norm ? " bn" : ""));
    torch::jit::Module plain = model_of(c.arch, c.batch_norm);
    torch::jit::Module hard = ds::clone_model(plain);
    ds::harden_layer(hard, c.layer, spec, x);
    torch::NoGradGuard no_grad;
    torch::Tensor y0 = plain.forward({x}).toTensor(), y1 = hard.forward({x}).toTensor();
    EXPECT_TRUE(torch::allclose(y0, y1, 1e-4, 1e-5));
    EXPECT_TRUE(torch::allclose(weight(hard, c.layer + ".weight"),
                                16.0 * weight(plain, c.layer + ".weight")));
    torch::Tensor a0 = tap(plain, c.layer, x), a1 = tap(hard, c.layer, x);
    EXPECT_GT(a0.abs().sum().item<double>(), 0.0);
    EXPECT_TRUE(torch::allclose(a1, 4.0 * a0, 1e-4, 1e-5));  // weight_gain * input_gain
  }
}

// Adam's first step moves each weight by the learning rate whatever its gradient's size: on
// weights 16 times larger that is a 16 times smaller relative change.
TEST(Harden, AdamMovesTheHardenedLayerLessRelativeToItsSize) {
  torch::manual_seed(12);
  torch::Tensor x = torch::rand({64, 1, 8, 8});
  torch::Tensor y = torch::randint(0, 5, {64}, torch::kInt64);
  auto relative_step = [&](torch::jit::Module m) {
    m.train();
    torch::optim::Adam opt(ds::trainable_parameters(m), torch::optim::AdamOptions(1e-3));
    torch::Tensor w = weight(m, "fc1.weight");
    torch::Tensor before = w.detach().clone();
    opt.zero_grad();
    torch::nn::functional::cross_entropy(m.forward({x}).toTensor(), y).backward();
    opt.step();
    return ((w.detach() - before).norm() / before.norm()).item<double>();
  };
  torch::jit::Module plain = model_of("cnn", true);
  torch::jit::Module hard = ds::clone_model(plain);
  ds::harden_layer(hard, "fc1", ds::HardenSpec{16.0, 0.25}, x);
  const double plain_step = relative_step(plain), hard_step = relative_step(hard);
  EXPECT_GT(plain_step, 0.0);
  EXPECT_NEAR(hard_step * 16.0, plain_step, 0.05 * plain_step);
}

// The adaptive thief's normalisation maps a hardened model and its unhardened original to the
// same weights, computing the same function.
TEST(Harden, RebalancingUndoesHardening) {
  torch::manual_seed(13);
  torch::Tensor x = torch::rand({32, 1, 8, 8});
  for (const Case& c : {Case{"mlp", "fc2", false}, Case{"cnn", "fc1", true}}) {
    SCOPED_TRACE(c.arch);
    torch::jit::Module plain = model_of(c.arch, c.batch_norm);
    torch::jit::Module hard = ds::clone_model(plain);
    ds::harden_layer(hard, c.layer, ds::HardenSpec{16.0, 0.25}, x);
    torch::jit::Module a = ds::clone_model(plain), b = ds::clone_model(hard);
    EXPECT_FALSE(ds::rebalance_scales(a).empty());
    ds::rebalance_scales(b);
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(torch::allclose(plain.forward({x}).toTensor(), b.forward({x}).toTensor(), 1e-4,
                                1e-5));
    for (const auto& p : a.named_parameters()) {
      EXPECT_TRUE(torch::allclose(p.value, weight(b, p.name), 1e-4, 1e-6)) << p.name;
    }
    EXPECT_FALSE(torch::allclose(weight(hard, c.layer + ".weight"),
                                 weight(b, c.layer + ".weight")));
  }
}

TEST(Harden, RefusesWhatItCannotRescale) {
  torch::Tensor x = torch::rand({4, 1, 8, 8});
  torch::jit::Module mlp = model_of("mlp", false);
  EXPECT_THROW(ds::harden_layer(mlp, "fc3", {16.0, 0.25}, x), ds::InputError);  // no consumer
  EXPECT_THROW(ds::harden_layer(mlp, "conv1", {16.0, 0.25}, x), ds::InputError);
  EXPECT_THROW(ds::harden_layer(mlp, "fc2", {0.0, 1.0}, x), ds::InputError);
  EXPECT_THROW(ds::harden_layer(mlp, "fc2", {2.0, -1.0}, x), ds::InputError);
  torch::Tensor untouched = weight(mlp, "fc2.weight").clone();
  ds::harden_layer(mlp, "fc2", {1.0, 1.0}, x);  // off
  EXPECT_TRUE(torch::equal(untouched, weight(mlp, "fc2.weight")));
  // A batch norm makes the conv tap: it takes the weight gain, but removes any input gain.
  torch::jit::Module cnn = model_of("cnn", true);
  EXPECT_THROW(ds::harden_layer(cnn, "conv2", {16.0, 0.25}, x), ds::InputError);
  torch::Tensor gamma = weight(cnn, "bn2.weight").clone();
  ds::harden_layer(cnn, "conv2", {16.0, 1.0}, x);
  EXPECT_TRUE(torch::allclose(weight(cnn, "bn2.weight"), 16.0 * gamma));
}

// The noise-aware pull recomputes the marked layer from the tap before it: with the layer's own
// weight it gives the tap exactly; with another weight, what that weight would give.
TEST(Harden, LayerReplayRecomputesTheTapFromTheOneBefore) {
  torch::manual_seed(13);
  torch::Tensor x = torch::rand({16, 1, 8, 8});
  for (const Case& c : {Case{"mlp", "fc2", false}, Case{"cnn", "fc1", true}}) {
    SCOPED_TRACE(c.arch);
    torch::jit::Module m = model_of(c.arch, c.batch_norm);
    ds::LayerReplay replay(m, c.layer);
    EXPECT_EQ(replay.input_tap(), c.arch == "mlp" ? "fc1" : "conv2");
    torch::NoGradGuard no_grad;
    torch::Tensor in = tap(m, replay.input_tap(), x);
    EXPECT_TRUE(torch::equal(replay(in, replay.weight()), tap(m, c.layer, x)));
    torch::Tensor doubled = replay(in, 2.0 * replay.weight());
    torch::jit::Module m2 = ds::clone_model(m);
    weight(m2, c.layer + ".weight").mul_(2.0);
    EXPECT_TRUE(torch::allclose(doubled, tap(m2, c.layer, x), 1e-5, 1e-6));
  }
  // The first dense layer reads the pixels, not a tap; a conv tap is made through a batch norm.
  torch::jit::Module mlp = model_of("mlp", false), cnn = model_of("cnn", true);
  EXPECT_THROW(ds::LayerReplay(mlp, "fc1"), ds::InputError);
  EXPECT_THROW(ds::LayerReplay(cnn, "conv2"), ds::InputError);
  EXPECT_THROW(ds::LayerReplay(mlp, "logits"), ds::InputError);
}

TEST(Harden, ConfigFieldsAreCheckedAndRecorded) {
  ds::Json base = {{"whitebox", {{"harden", {{"weight_gain", 8}, {"input_gain", 0.5}}}}}};
  ds::WhiteboxEmbedConfig c = ds::parse_whitebox_embed_config(base, "embed.json");
  EXPECT_EQ(c.harden.weight_gain, 8.0);
  EXPECT_EQ(c.harden.input_gain, 0.5);
  EXPECT_EQ(ds::whitebox_embed_config_to_json(c)["whitebox"]["harden"]["weight_gain"], 8.0);
  for (const ds::Json& bad : {ds::Json{{"weight_gain", "8"}}, ds::Json{{"input_gain", 0}},
                              ds::Json{{"gain", 2}}}) {
    ds::Json j = {{"whitebox", {{"harden", bad}}}};
    EXPECT_THROW(ds::parse_whitebox_embed_config(j, "embed.json"), ds::InputError) << bad.dump();
  }
  EXPECT_FALSE(ds::parse_whitebox_embed_config(ds::Json::object(), "e.json").harden.enabled());
}

TEST(Harden, FinetuneRebalanceFieldIsChecked) {
  ds::Json j = {{"attack", "finetune"}, {"rebalance", true}, {"data", {{"path", "/nowhere"}}}};
  EXPECT_TRUE(ds::parse_attack_spec(j, "a.json").settings<ds::FinetuneAttack>()->finetune.rebalance);
  j["rebalance"] = "yes";
  EXPECT_THROW(ds::parse_attack_spec(j, "a.json"), ds::InputError);
  j.erase("rebalance");
  EXPECT_FALSE(ds::parse_attack_spec(j, "a.json").settings<ds::FinetuneAttack>()->finetune.rebalance);
}

}  // namespace
