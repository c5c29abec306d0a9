// White-box embedding: the config, centre initialisation, the loss step and the epoch loop.
#include "watermark/whitebox_embed.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <tuple>
#include <utility>
#include <vector>

#include "core/errors.h"
#include "core/runtime.h"
#include "model/distributed.h"
#include "model/layer_replay.h"
#include "model/model_io.h"
#include "model/zoo.h"
#include "watermark/centre_terms.h"
#include "watermark/whitebox_extract.h"

namespace ds {

WhiteboxEmbedConfig parse_whitebox_embed_config(const Json& json, const std::string& file) {
  ConfigObject root(json, file);
  WhiteboxEmbedConfig c;
  c.data = parse_data_spec(root.get_object("data"));
  Json opt = json.value("optimizer", Json::object());
  if (!opt.is_object()) root.fail("optimizer", "must be an object");
  if (!opt.contains("lr")) opt["lr"] = 5e-5;  // fine-tuning a trained model: small steps
  root.get_object("optimizer");
  c.optimizer = parse_optimizer_spec(ConfigObject(opt, file, "optimizer"));
  ConfigObject wb = root.get_object("whitebox");
  c.lambda1 = wb.get_number("lambda1", c.lambda1);
  c.lambda2 = wb.get_number("lambda2", c.lambda2);
  if (c.lambda1 < 0) wb.fail("lambda1", "must be >= 0");
  if (!(c.lambda2 > 0)) wb.fail("lambda2", "must be positive");
  c.centre_lr = wb.get_number("centre_lr", c.centre_lr);
  if (!(c.centre_lr > 0)) wb.fail("centre_lr", "must be positive");
  c.margin = wb.get_number("margin", c.margin);
  if (c.margin < 0) wb.fail("margin", "must be >= 0");
  c.centre_init = wb.get_choice("centre_init", c.centre_init, {"class_mean", "uniform"});
  c.pull_reduction = wb.get_choice("pull_reduction", c.pull_reduction, {"mean", "sum"});
  c.pull_classes = wb.get_choice("pull_classes", c.pull_classes, {"all", "carriers"});
  c.activation_scale = wb.get_choice("activation_scale", c.activation_scale, {"initial", "batch"});
  c.payload_on =
      wb.get_choice("payload_on", c.payload_on, {"centres", "centres_and_activations"});
  c.pull_noise = wb.get_number("pull_noise", c.pull_noise);
  if (c.pull_noise < 0) wb.fail("pull_noise", "must be >= 0");
  ConfigObject harden = wb.get_object("harden");
  c.harden.weight_gain = harden.get_number("weight_gain", c.harden.weight_gain);
  if (!(c.harden.weight_gain > 0)) harden.fail("weight_gain", "must be positive");
  c.harden.input_gain = harden.get_number("input_gain", c.harden.input_gain);
  if (!(c.harden.input_gain > 0)) harden.fail("input_gain", "must be positive");
  harden.finish();
  wb.finish();
  c.max_epochs = root.get_positive_int("max_epochs", c.max_epochs);
  c.accuracy_budget = root.get_fraction("accuracy_budget", c.accuracy_budget, true);
  c.from_scratch = root.get_bool("from_scratch", c.from_scratch);
  c.measure_overhead = root.get_bool("measure_overhead", c.measure_overhead);
  c.overhead_steps = root.get_positive_int("overhead_steps", c.overhead_steps);
  read_run_fields(root, c);
  return c;
}

Json whitebox_embed_config_to_json(const WhiteboxEmbedConfig& c) {
  Json j{
      {"data", data_spec_to_json(c.data)},
      {"optimizer", optimizer_spec_to_json(c.optimizer)},
      {"whitebox",
       {{"lambda1", c.lambda1},
        {"lambda2", c.lambda2},
        {"centre_lr", c.centre_lr},
        {"margin", c.margin},
        {"centre_init", c.centre_init},
        {"pull_reduction", c.pull_reduction},
        {"pull_classes", c.pull_classes},
        {"activation_scale", c.activation_scale},
        {"payload_on", c.payload_on},
        {"pull_noise", c.pull_noise},
        {"harden", {{"weight_gain", c.harden.weight_gain}, {"input_gain", c.harden.input_gain}}}}},
      {"max_epochs", c.max_epochs},
      {"accuracy_budget", c.accuracy_budget},
      {"from_scratch", c.from_scratch},
      {"measure_overhead", c.measure_overhead},
      {"overhead_steps", c.overhead_steps}};
  add_run_fields(c, j);
  return j;
}

namespace {

struct ClassMeans {
  torch::Tensor means;       // classes x width
  bool nonnegative = false;  // every activation seen was >= 0 (a ReLU layer)
};

// Per-class mean activation of the layer over (up to 10,000 samples of) the training data.
ClassMeans class_mean_centres(torch::jit::Module& model, const WhiteboxKey& key,
                              const Dataset& train, const std::string& model_path) {
  c10::InferenceMode guard;
  model.eval();
  Dataset sample = subset(train, std::min(1.0, 10000.0 / double(train.size())), 17);
  torch::Tensor sums = torch::zeros({train.num_classes, key.layer_width});
  torch::Tensor counts = torch::zeros({train.num_classes, 1});
  bool nonnegative = true;
  for (int64_t s = 0; s < sample.size(); s += 1000) {
    int64_t len = std::min<int64_t>(1000, sample.size() - s);
    auto acts = layer_activations(model, sample.images.narrow(0, s, len), key.layer, model_path);
    auto y = sample.labels.narrow(0, s, len);
    nonnegative = nonnegative && acts.min().item<float>() >= 0.0f;
    sums.index_add_(0, y, acts);
    counts.index_add_(0, y, torch::ones({len, 1}));
  }
  model.train(true);
  return ClassMeans{sums / counts.clamp_min(1), nonnegative};
}

}  // namespace

namespace {

// Noise-aware pull: the marked layer recomputed from the tap before it with noisy weights.
struct NoisyLayer {
  std::shared_ptr<LayerReplay> replay;
  double noise_std = 0.0;  // 0: off
};

NoisyLayer noisy_layer(torch::jit::Module& model, const std::string& layer, double pull_noise) {
  NoisyLayer n;
  if (!(pull_noise > 0)) return n;
  try {
    n.replay = std::make_shared<LayerReplay>(model, layer);
  } catch (const InputError& e) {
    throw InputError(std::string("whitebox.pull_noise: ") + e.what());
  }
  n.noise_std = pull_noise * n.replay->weight().detach().pow(2).mean().sqrt().item<double>();
  return n;
}

// The batch rows whose label is a carrier class, and their labels: a loop, not the four tensor
// ops (select, nonzero, squeeze, select) that cost more than the work on the MLP's step.
std::pair<torch::Tensor, torch::Tensor> carrier_rows(const torch::Tensor& y,
                                                     const std::vector<bool>& is_carrier) {
  torch::Tensor labels = y.contiguous();
  const int64_t* p = labels.data_ptr<int64_t>();
  std::vector<int64_t> rows, their_labels;
  for (int64_t i = 0; i < labels.numel(); ++i) {
    if (!is_carrier[size_t(p[i])]) continue;
    rows.push_back(i);
    their_labels.push_back(p[i]);
  }
  auto tensor = [](std::vector<int64_t>& v) {
    return torch::from_blob(v.data(), {int64_t(v.size())}, torch::kInt64).clone();
  };
  return {tensor(rows), tensor(their_labels)};
}

// The DeepSigns embedding loss as a step function: cross-entropy + lambda1 * (pull of the
// carriers' activations to their class centres + bounded separation of the centres + unit norm)
// + lambda2 * payload BCE on the carriers' centres. `centres` (classes x width, requires grad)
// are trained beside the model; `scale` divides the activations (see embed_whitebox).
StepFn whitebox_embed_step(torch::jit::Module& model, const std::string& model_path,
                           const WhiteboxKey& key, const WhiteboxEmbedConfig& config,
                           int64_t num_classes, double scale, torch::Tensor centres,
                           bool clamp_centres) {
  auto terms = std::make_shared<CentreTerms>();
  terms->projection = key.projection.to(torch::kFloat32).contiguous();
  terms->target_bits = key.bits.to(torch::kFloat32).contiguous();
  // Shifting each logit by -margin * (2b - 1) makes the BCE push b = 1 bits past +margin and
  // b = 0 bits below -margin.
  terms->margin_shift = ((2.0 * terms->target_bits - 1.0) * config.margin).contiguous();
  terms->carriers = key.carriers;
  terms->lambda1 = config.lambda1;
  terms->lambda2 = config.lambda2;
  const bool pull_mean = config.pull_reduction == "mean";
  const bool pull_carriers_only = config.pull_classes == "carriers";
  std::vector<bool> is_carrier(size_t(num_classes), false);
  for (int64_t c : key.carriers) is_carrier[size_t(c)] = true;
  const std::string layer = key.layer;
  const NoisyLayer noisy = noisy_layer(model, layer, config.pull_noise);
  // Few ops: on the MLP a step is ~10 ms and every extra op costs ~10 us. The pull touches only
  // the rows it weighs (the carriers' samples: about one in ten); the centre-only terms are
  // one hand-differentiated function (centre_terms.h).
  return [=, &model](const torch::Tensor& x, const torch::Tensor& y, const BatchShard& shard) {
    if (clamp_centres) {
      torch::NoGradGuard no_grad;
      centres.clamp_min_(0.0);
    }
    auto taps = call_taps(model, x, model_path);
    torch::Tensor logits = taps.at("logits");
    torch::Tensor f = taps.at(layer).flatten(1);
    torch::Tensor labels = y;
    torch::Tensor rows;
    if (pull_carriers_only) {
      std::tie(rows, labels) = carrier_rows(y, is_carrier);
      f = f.index_select(0, rows);
    }
    if (noisy.noise_std > 0) {
      torch::Tensor in = taps.at(noisy.replay->input_tap());
      if (rows.defined()) in = in.index_select(0, rows);
      const torch::Tensor& w = noisy.replay->weight();
      f = (*noisy.replay)(in, w + torch::randn(w.sizes()) * noisy.noise_std).flatten(1);
    }
    torch::Tensor pull =
        (0.5 * config.lambda1 / (pull_mean ? double(shard.global_size) : 1.0)) *
        torch::mse_loss(f / scale, centres.index_select(0, labels), at::Reduction::Sum);
    // Separation is paid per sample (this process's), the payload once per carrier in the
    // global batch (see BatchShard).
    auto class_counts = [num_classes](const torch::Tensor& labels) {
      std::vector<double> counts(size_t(num_classes), 0.0);
      torch::Tensor l = labels.contiguous();
      const int64_t* p = l.data_ptr<int64_t>();
      for (int64_t i = 0; i < l.numel(); ++i) counts[size_t(p[i])] += 1.0;
      return counts;
    };
    torch::Tensor rest =
        centre_terms(*terms, centres, class_counts(y), class_counts(shard.global_labels),
                     double(shard.global_size), shard.share);
    torch::Tensor loss0 =
        torch::nn::functional::cross_entropy(
            logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum)) /
        double(shard.global_size);
    return StepOutput{loss0 + pull + rest, logits};
  };
}

}  // namespace

EmbedCentres initial_centres(torch::jit::Module& model, const WhiteboxKey& key,
                             const DataSplits& data, const std::string& model_path,
                             const WhiteboxEmbedConfig& config) {
  // The centre terms assume centres near unit norm, but a trained layer's activations are far
  // larger (~29 for the MLP's fc2). Dividing the activations by a constant `scale`, the mean
  // norm of the class means before embedding, puts both on the same footing. Extraction is
  // unaffected: the sign of (mean activation . A) does not depend on a positive scale.
  ClassMeans init = class_mean_centres(model, key, data.train, model_path);
  torch::Tensor class_means = init.means.clone();
  EmbedCentres c;
  // On a ReLU layer a centre with negative entries is out of the activations' reach: the BCE
  // could be satisfied by the centre while the activations never follow. Keep centres in the
  // activations' range (projected gradient descent).
  c.clamp = init.nonnegative;
  c.scale = std::max(1e-6, class_means.norm(2, 1).mean().item<double>());
  if (config.centre_init == "class_mean") {
    c.centres = class_means / c.scale;
  } else {
    auto gen = at::detail::createCPUGenerator(mix_seed(config.seed, 3));
    c.centres = torch::rand({data.train.num_classes, key.layer_width}, gen, torch::kFloat32);
  }
  c.centres.requires_grad_(true);
  return c;
}

namespace {

// The embedding's cost over plain fine-tuning, per step: copies of the marked model (and of
// the centres) take plain and embedding steps on the same batches, alternately, so that the
// machine's noise falls on both alike. The marked model is not touched.
void measure_overhead(torch::jit::Module& model, const std::string& model_path,
                      const WhiteboxKey& key, const DataSplits& data,
                      const WhiteboxEmbedConfig& config, const EmbedCentres& c,
                      WhiteboxEmbedResult& r) {
  const int64_t num_classes = data.train.num_classes;
  torch::jit::Module plain_model = clone_model(model);
  torch::jit::Module embed_model = clone_model(model);
  torch::Tensor centres_copy = c.centres.detach().clone().requires_grad_(true);
  auto plain_opt = make_optimizer(config.optimizer, trainable_parameters(plain_model));
  auto embed_opt = make_optimizer(config.optimizer, trainable_parameters(embed_model));
  torch::optim::Adam centre_copy_opt({centres_copy}, torch::optim::AdamOptions(config.centre_lr));
  StepSetup plain{&plain_model, {plain_opt.get()}, cross_entropy_step(plain_model)};
  StepSetup marked{&embed_model,
                   {embed_opt.get(), &centre_copy_opt},
                   whitebox_embed_step(embed_model, model_path, key, config, num_classes, c.scale,
                                       centres_copy, c.clamp)};
  const int64_t steps = std::max<int64_t>(
      10, std::min<int64_t>(config.overhead_steps, data.train.size() / config.batch_size));
  StepTimes t = compare_step_seconds(plain, marked, data.train, config.batch_size,
                                     mix_seed(config.seed, 4), steps);
  r.plain_step_seconds = t.a_seconds;
  r.embed_step_seconds = t.b_seconds;
  r.timed_steps = t.steps;
  spdlog::info(
      "step time: plain fine-tuning {:.2f} ms, embedding {:.2f} ms ({:+.1f}%, median "
      "of {} interleaved steps each)",
      1e3 * t.a_seconds, 1e3 * t.b_seconds, 100.0 * (t.b_seconds / t.a_seconds - 1.0), t.steps);
}

void harden_marked_layer(torch::jit::Module& model, const std::string& model_path,
                         const WhiteboxKey& key, const DataSplits& data,
                         const WhiteboxEmbedConfig& config, WhiteboxEmbedResult& r) {
  torch::Tensor probe = data.test.images.narrow(0, 0, std::min<int64_t>(256, data.test.size()));
  harden_layer(model, key.layer, config.harden, probe);
  r.accuracy_before_hardening = r.accuracy_after;
  r.accuracy_after = evaluate_accuracy(model, data.test, 1000);
  r.ber_after = extract_whitebox(model, key, model_path, false).ber;
  spdlog::info("hardened {} (weights x{}, input x{}): test acc {:.4f}, BER {:.4f}", key.layer,
               config.harden.weight_gain, config.harden.input_gain, r.accuracy_after, r.ber_after);
}

}  // namespace

WhiteboxEmbedResult embed_whitebox(torch::jit::Module& model, const std::string& model_path,
                                   const WhiteboxKey& key, const DataSplits& data,
                                   const WhiteboxEmbedConfig& config) {
  WhiteboxEmbedResult r;
  r.ber_before = extract_whitebox(model, key, model_path, false).ber;  // validates layer and width
  check_hardening(model, key.layer, config.harden);
  r.accuracy_before = evaluate_accuracy(model, data.test, 1000);
  spdlog::info("before embedding: test accuracy {:.4f}, BER {:.3f} on the triggers",
               r.accuracy_before, r.ber_before);

  Stopwatch init_clock;
  EmbedCentres c = initial_centres(model, key, data, model_path, config);
  r.centre_init_seconds = init_clock.seconds();

  seed_training_generator(mix_seed(config.seed, 2));
  auto model_opt = make_optimizer(config.optimizer, trainable_parameters(model));
  torch::optim::Adam centre_opt({c.centres}, torch::optim::AdamOptions(config.centre_lr));
  StepFn step = whitebox_embed_step(model, model_path, key, config, data.train.num_classes, c.scale,
                                    c.centres, c.clamp);
  for (int64_t e = 0; e < config.max_epochs; ++e) {
    std::string label =
        "embed epoch " + std::to_string(e + 1) + "/" + std::to_string(config.max_epochs);
    set_lr(*model_opt, scheduled_lr(config.optimizer, e, config.max_epochs));
    EpochStats s = run_epoch(model, {model_opt.get(), &centre_opt}, data.train, config.batch_size,
                             mix_seed(config.seed, 100 + uint64_t(e)), step, label);
    s.epoch = e + 1;
    s.test_accuracy = evaluate_accuracy(model, data.test, 1000);
    double ber = extract_whitebox(model, key, model_path, false).ber;
    r.epoch_stats.push_back(s);
    r.epoch_ber.push_back(ber);
    spdlog::info("{}: loss {:.4f}  test acc {:.4f}  BER {:.4f}  {:.1f} s", label, s.loss,
                 s.test_accuracy, ber, s.seconds);
    r.epochs = e + 1;
    r.accuracy_after = s.test_accuracy;
    r.ber_after = ber;
    if (ber == 0.0 && r.accuracy_before - s.test_accuracy <= config.accuracy_budget) {
      r.stop_reason = "converged";
      break;
    }
  }
  if (r.stop_reason.empty()) r.stop_reason = "max_epochs";
  if (config.measure_overhead && !distributed())
    measure_overhead(model, model_path, key, data, config, c, r);
  model.eval();
  if (config.harden.enabled()) harden_marked_layer(model, model_path, key, data, config, r);
  return r;
}

}  // namespace ds
