// Black-box watermark: candidates, embedding rounds, and the mismatch-count decision.
#include "watermark/blackbox.h"

#include <ATen/CPUGeneratorImpl.h>

#include "core/errors.h"
#include "core/runtime.h"
#include "model/distributed.h"
#include "model/model_io.h"
#include "watermark/stats.h"

namespace ds {

BlackboxKeySpec parse_blackbox_key_spec(ConfigObject obj) {
  BlackboxKeySpec s;
  s.keys = obj.get_positive_int("keys", s.keys);
  s.candidate_factor = obj.get_positive_int("candidate_factor", s.candidate_factor);
  s.source = obj.get_choice("source", s.source, {"uniform", "gaussian", "smooth", "dataset"});
  if (s.source == "smooth") {
    s.cell = obj.get_positive_int("cell", s.cell);
  } else if (obj.has("cell")) {
    obj.fail("cell", "is only used with source 'smooth'");
  }
  if (s.source == "dataset") {
    if (!obj.has("source_data")) obj.fail("source_data", "is required when source is 'dataset'");
    s.source_data = parse_data_spec(obj.get_object("source_data"));
  } else if (obj.has("source_data")) {
    obj.fail("source_data", "is only used with source 'dataset'");
  }
  s.false_claim_probability = obj.get_number("false_claim_probability", s.false_claim_probability);
  if (!(s.false_claim_probability > 0 && s.false_claim_probability < 1)) {
    obj.fail("false_claim_probability", "must be in (0, 1)");
  }
  obj.finish();
  return s;
}

namespace {

// Uniform values on a grid of cell x cell pixel cells, bilinearly upsampled to the image: noise
// whose energy sits below the frequencies a smoothing filter takes out.
torch::Tensor smooth_noise(const std::vector<int64_t>& shape, int64_t cell, at::Generator& gen) {
  const int64_t h = shape[shape.size() - 2], w = shape[shape.size() - 1];
  std::vector<int64_t> coarse = shape;
  coarse[coarse.size() - 2] = (h + cell - 1) / cell + 1;
  coarse[coarse.size() - 1] = (w + cell - 1) / cell + 1;
  torch::Tensor grid = torch::rand(coarse, gen, torch::kFloat32);
  namespace F = torch::nn::functional;
  return F::interpolate(grid, F::InterpolateFuncOptions()
                                  .size(std::vector<int64_t>{h, w})
                                  .mode(torch::kBilinear)
                                  .align_corners(true))
      .contiguous();
}

}  // namespace

void draw_candidates(const Json& generator, const std::vector<int64_t>& input_shape,
                     int64_t num_classes, int64_t round, int64_t count, torch::Tensor& inputs,
                     torch::Tensor& labels) {
  uint64_t seed = generator.at("seed").get<uint64_t>();
  std::string source = generator.at("source").get<std::string>();
  auto gen = at::detail::createCPUGenerator(mix_seed(seed, 1000 + uint64_t(round)));
  std::vector<int64_t> shape = {count};
  shape.insert(shape.end(), input_shape.begin(), input_shape.end());
  if (source == "uniform") {
    inputs = torch::rand(shape, gen, torch::kFloat32);
  } else if (source == "smooth") {
    if (input_shape.size() != 3) {
      throw InputError("blackbox.source 'smooth' needs image inputs (C x H x W); the model takes " +
                       Json(input_shape).dump());
    }
    inputs = smooth_noise(shape, generator.at("cell").get<int64_t>(), gen);
  } else if (source == "gaussian") {
    inputs = (0.5 + 0.25 * torch::randn(shape, gen, torch::kFloat32)).clamp(0.0, 1.0);
  } else {
    DataSpec spec = parse_data_spec(ConfigObject(generator.at("data"), "key", "source_data"));
    Dataset pool = load_data(spec).train;
    if (pool.sample_shape() != input_shape) {
      fail_input(spec.path, "out-of-distribution images have shape " +
                                Json(pool.sample_shape()).dump() + ", the model takes " +
                                Json(input_shape).dump());
    }
    if (pool.size() < count) fail_input(spec.path, "too few images for the candidates");
    auto perm = seeded_permutation(pool.size(), mix_seed(seed, 2000 + uint64_t(round)));
    perm.resize(size_t(count));
    inputs = pool.images.index_select(0, torch::tensor(perm, torch::kInt64)).contiguous();
  }
  labels = torch::randint(0, num_classes, {count}, gen, torch::kInt64);
}

torch::Tensor predict_labels(torch::jit::Module& model, const torch::Tensor& inputs) {
  c10::InferenceMode guard;
  bool was_training = model.is_training();
  model.eval();
  std::vector<torch::Tensor> parts;
  for (int64_t s = 0; s < inputs.size(0); s += 1000) {
    int64_t len = std::min<int64_t>(1000, inputs.size(0) - s);
    parts.push_back(model.forward({inputs.narrow(0, s, len)}).toTensor().argmax(1));
  }
  model.train(was_training);
  return torch::cat(parts).clone();
}

BlackboxKey make_blackbox_candidates(const BlackboxKeySpec& spec, torch::jit::Module& base,
                                     const std::vector<int64_t>& input_shape, int64_t num_classes,
                                     uint64_t key_seed) {
  BlackboxKey k;
  k.stage = "candidates";
  k.keys_wanted = spec.keys;
  k.false_claim_probability = spec.false_claim_probability;
  k.generator = Json{
      {"source", spec.source}, {"seed", key_seed}, {"candidate_factor", spec.candidate_factor}};
  if (spec.source == "dataset") k.generator["data"] = data_spec_to_json(spec.source_data);
  if (spec.source == "smooth") k.generator["cell"] = spec.cell;
  draw_candidates(k.generator, input_shape, num_classes, 0, spec.candidate_factor * spec.keys,
                  k.inputs, k.labels);
  k.base_predictions = predict_labels(base, k.inputs);
  return k;
}

BlackboxEmbedConfig parse_blackbox_embed_config(const Json& json, const std::string& file) {
  ConfigObject root(json, file);
  BlackboxEmbedConfig c;
  root.get_choice("kind", "blackbox", {"blackbox"});
  c.data = parse_data_spec(root.get_object("data"));
  Json opt = json.value("optimizer", Json::object());
  if (!opt.is_object()) root.fail("optimizer", "must be an object");
  // The authors' settings unless the config says otherwise.
  if (!opt.contains("name")) opt["name"] = "sgd";
  if (!opt.contains("lr")) opt["lr"] = 8e-4;
  if (opt["name"] == "sgd" && !opt.contains("momentum")) opt["momentum"] = 0.9;
  if (opt["name"] == "sgd" && !opt.contains("nesterov")) opt["nesterov"] = true;
  root.get_object("optimizer");
  ConfigObject opt_obj(opt, file, "optimizer");
  c.optimizer = parse_optimizer_spec(opt_obj);
  // The rounds run until enough keys survive, so no schedule knows its last epoch.
  if (c.optimizer.schedule != "none") {
    opt_obj.fail("schedule", "is not used by the black-box embedding (its rounds have no fixed end)");
  }
  c.epochs_per_round = root.get_positive_int("epochs_per_round", c.epochs_per_round);
  c.max_rounds = root.get_positive_int("max_rounds", c.max_rounds);
  c.candidate_repeats = root.get_positive_int("candidate_repeats", c.candidate_repeats);
  read_run_fields(root, c);
  return c;
}

Json blackbox_embed_config_to_json(const BlackboxEmbedConfig& c) {
  Json j{{"kind", "blackbox"},
         {"data", data_spec_to_json(c.data)},
         {"optimizer", optimizer_spec_to_json(c.optimizer)},
         {"epochs_per_round", c.epochs_per_round},
         {"max_rounds", c.max_rounds},
         {"candidate_repeats", c.candidate_repeats}};
  add_run_fields(c, j);
  return j;
}

BlackboxEmbedResult embed_blackbox(torch::jit::Module& model, const BlackboxKey& candidates,
                                   const std::vector<int64_t>& input_shape, int64_t num_classes,
                                   const DataSplits& data, const BlackboxEmbedConfig& config) {
  Stopwatch clock;
  BlackboxEmbedResult r;
  r.accuracy_before = evaluate_accuracy(model, data.test, 1000);
  torch::jit::Module base = clone_model(model);  // labels new candidates as the unmarked model
  torch::Tensor inputs = candidates.inputs, labels = candidates.labels;
  torch::Tensor base_pred = candidates.base_predictions;
  r.candidates_drawn = candidates.size();
  const int64_t per_round =
      candidates.generator.value("candidate_factor", int64_t(40)) * candidates.keys_wanted;

  seed_training_generator(mix_seed(config.seed, 2));
  auto optimizer = make_optimizer(config.optimizer, trainable_parameters(model));
  torch::Tensor good;
  for (int64_t round = 0; round < config.max_rounds; ++round) {
    if (round > 0) {
      torch::Tensor more_x, more_y;
      draw_candidates(candidates.generator, input_shape, num_classes, round, per_round, more_x,
                      more_y);
      inputs = torch::cat({inputs, more_x});
      labels = torch::cat({labels, more_y});
      base_pred = torch::cat({base_pred, predict_labels(base, more_x)});
      r.candidates_drawn += per_round;
    }
    Dataset mixed;
    mixed.images =
        torch::cat({data.train.images, inputs.repeat({config.candidate_repeats, 1, 1, 1})});
    mixed.labels = torch::cat({data.train.labels, labels.repeat({config.candidate_repeats})});
    mixed.num_classes = num_classes;
    for (int64_t e = 0; e < config.epochs_per_round; ++e) {
      std::string label = "round " + std::to_string(round + 1) + " epoch " + std::to_string(e + 1);
      EpochStats s = run_epoch(model, {optimizer.get()}, mixed, config.batch_size,
                               mix_seed(config.seed, 100 + uint64_t(round * 1000 + e)),
                               cross_entropy_step(model), label);
      s.epoch = int64_t(r.epoch_stats.size()) + 1;
      r.epoch_stats.push_back(s);
    }
    good = predict_labels(model, inputs).eq(labels).logical_and(base_pred.ne(labels));
    r.rounds = round + 1;
    int64_t survivors = good.sum().item<int64_t>();
    spdlog::info("round {}: {} of {} candidates answered by the marked model only (need {})",
                 round + 1, survivors, inputs.size(0), candidates.keys_wanted);
    if (survivors >= candidates.keys_wanted) break;
  }
  int64_t survivors = good.sum().item<int64_t>();
  if (survivors < candidates.keys_wanted) {
    throw std::runtime_error("only " + std::to_string(survivors) + " of the " +
                             std::to_string(candidates.keys_wanted) + " keys wanted survived " +
                             std::to_string(r.rounds) +
                             " rounds; raise max_rounds, candidate_repeats or the learning rate");
  }
  torch::Tensor idx = good.nonzero().flatten().narrow(0, 0, candidates.keys_wanted);
  BlackboxKey& k = r.final_key;
  k = candidates;
  k.stage = "final";
  k.inputs = inputs.index_select(0, idx).contiguous();
  k.labels = labels.index_select(0, idx).contiguous();
  k.base_predictions = base_pred.index_select(0, idx).contiguous();
  model.eval();
  r.key_accuracy =
      predict_labels(model, k.inputs).eq(k.labels).to(torch::kFloat64).mean().item<double>();
  r.accuracy_after = evaluate_accuracy(model, data.test, 1000);
  r.seconds = clock.seconds();
  return r;
}

BlackboxDecision decide_blackbox(const BlackboxKey& key, int64_t num_classes,
                                 const torch::Tensor& answers, double alpha) {
  BlackboxDecision d;
  d.keys = key.size();
  d.mismatches = answers.ne(key.labels).sum().item<int64_t>();
  double miss = 1.0 - 1.0 / double(num_classes);
  d.threshold = blackbox_threshold(d.keys, num_classes, alpha);
  d.threshold_false_claim = binomial_lower_tail(d.keys, d.threshold - 1, miss);
  d.log10_p_value = log10_binomial_lower_tail(d.keys, d.mismatches, miss);
  d.p_value = binomial_lower_tail(d.keys, d.mismatches, miss);
  d.verified = d.p_value <= alpha;  // the same as mismatches < threshold
  return d;
}

}  // namespace ds
