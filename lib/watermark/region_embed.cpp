// Keyed-region mark, weight side: relabelled fine-tuning.
#include "watermark/region_embed.h"

#include <optional>

#include "core/runtime.h"
#include "model/distributed.h"
#include "model/model_io.h"
#include "watermark/blackbox.h"
#include "watermark/region_guard.h"
#include "watermark/region_key.h"

namespace ds {

RegionTrainConfig parse_region_train_config(ConfigObject obj) {
  RegionTrainConfig c;
  if (obj.has("optimizer")) c.optimizer = parse_optimizer_spec(obj.get_object("optimizer"));
  c.epochs = obj.get_positive_int("epochs", c.epochs);
  c.region_repeats = obj.get_int("region_repeats", c.region_repeats);
  if (c.region_repeats < 0) obj.fail("region_repeats", "must be 0 or more");
  c.near_misses = obj.get_int("near_misses", c.near_misses);
  if (c.near_misses < 0) obj.fail("near_misses", "must be 0 or more");
  c.labels = obj.get_choice("labels", c.labels, {"guard", "hard"});
  c.temperature = obj.get_number("temperature", c.temperature);
  if (!(c.temperature > 0)) obj.fail("temperature", "must be positive");
  c.batch_size = obj.get_positive_int("batch_size", c.batch_size);
  c.seed = obj.get_seed("seed", c.seed);
  obj.finish();
  return c;
}

Json region_train_config_to_json(const RegionTrainConfig& c) {
  Json j{{"optimizer", optimizer_spec_to_json(c.optimizer)},
         {"epochs", c.epochs},
         {"region_repeats", c.region_repeats},
         {"near_misses", c.near_misses},
         {"labels", c.labels},
         {"temperature", c.temperature}};
  j["batch_size"] = c.batch_size;
  j["seed"] = c.seed;
  return j;
}

RelabelledData relabel_regions(const RegionKey& key, const Dataset& train, int64_t repeats,
                               int64_t near_misses) {
  RegionPlacement at = place_in_regions(key, train.images);
  torch::Tensor inside = at.region.ge(0);
  torch::Tensor target = key.targets.index_select(0, at.region.clamp_min(0));
  RelabelledData out{train, inside.sum().item<int64_t>()};
  Dataset& d = out.data;
  d.labels = torch::where(inside, target, train.labels);
  if (repeats > 0) {
    torch::Tensor in_idx = inside.nonzero().flatten();
    torch::Tensor depth = at.depth.masked_fill(inside, -INFINITY);
    torch::Tensor near_idx = std::get<1>(depth.topk(out.region_inputs * near_misses));
    torch::Tensor idx = torch::cat({in_idx, near_idx});
    d.images = torch::cat({d.images, train.images.index_select(0, idx).repeat({repeats, 1, 1, 1})});
    d.labels = torch::cat({d.labels, d.labels.index_select(0, idx).repeat({repeats})});
  }
  return out;
}

RegionTrainResult train_regions(torch::jit::Module& model, const RegionKey& key,
                                const DataSplits& data, const RegionTrainConfig& config,
                                const Dataset& keep) {
  RegionTrainResult r;
  RelabelledData relabelled =
      relabel_regions(key, data.train, config.region_repeats, config.near_misses);
  Dataset& mixed = relabelled.data;
  r.region_inputs = relabelled.region_inputs;
  if (keep.images.defined()) {
    int64_t copies = std::max<int64_t>(1, config.region_repeats);
    mixed.images = torch::cat({mixed.images, keep.images.repeat({copies, 1, 1, 1})});
    mixed.labels = torch::cat({mixed.labels, keep.labels.repeat({copies})});
  }
  seed_training_generator(mix_seed(config.seed, 5));
  std::optional<torch::jit::Module> teacher;  // the guarded original, for soft labels
  if (config.labels == "guard") {
    teacher = guard_model(clone_model(model), key);
    teacher->eval();
  }
  StepFn step = teacher ? soft_label_step(*teacher, model, config.temperature)
                        : cross_entropy_step(model);
  auto optimizer = make_optimizer(config.optimizer, trainable_parameters(model));
  for (int64_t e = 0; e < config.epochs; ++e) {
    set_lr(*optimizer, scheduled_lr(config.optimizer, e, config.epochs));
    EpochStats s = run_epoch(model, {optimizer.get()}, mixed, config.batch_size,
                             mix_seed(config.seed, 500 + uint64_t(e)), step,
                             "regions epoch " + std::to_string(e + 1));
    s.epoch = e + 1;
    r.epochs.push_back(s);
  }
  model.eval();
  torch::Tensor want = key.targets.index_select(0, key.input_regions);
  r.region_agreement =
      predict_labels(model, key.inputs).eq(want).to(torch::kFloat64).mean().item<double>();
  return r;
}

}  // namespace ds
