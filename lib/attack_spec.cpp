// Attack configs: parsing with field-level errors, and dispatch to the attack library.
#include "attack_spec.h"

#include <cmath>

#include "errors.h"
#include "runtime.h"

namespace ds {
namespace {

const std::vector<std::string> kAttackKinds = {"prune",     "quantize", "noise",    "permute",
                                               "scale",     "dummy",    "obfuscate", "finetune",
                                               "overwrite", "distill"};

// A nested config object (type-checked through `root`), as raw JSON to complete and re-parse.
Json nested_json(ConfigObject& root, const Json& json, const std::string& field) {
  root.get_object(field);
  return json.contains(field) ? json[field] : Json::object();
}

// The last dense layer that feeds another one (fc2 in the MLP, fc1 in the CNN).
std::string default_dense_layer(const torch::jit::Module& model) {
  std::string last;
  for (int k = 1; k < 64; ++k) {
    try {
      next_dense_layer(model, "fc" + std::to_string(k));
      last = "fc" + std::to_string(k);
    } catch (const InputError&) {
      break;
    }
  }
  if (last.empty()) throw InputError("model has no pair of dense layers fcK -> fcK+1");
  return last;
}

OptimizerSpec parse_training_optimizer(ConfigObject& root, const OptimizerSpec& fallback) {
  OptimizerSpec opt = fallback;
  if (root.has("optimizer")) opt = parse_optimizer_spec(root.get_object("optimizer"));
  // "lr" at the top level, so that a sweep can vary it on its own.
  opt.lr = root.get_number("lr", opt.lr);
  if (!(opt.lr > 0)) root.fail("lr", "must be positive");
  return opt;
}

}  // namespace

AttackSpec parse_attack_spec(const Json& json, const std::string& file) {
  ConfigObject root(json, file);
  AttackSpec s;
  s.kind = root.get_choice("attack", "", kAttackKinds);
  s.seed = root.get_seed("seed", s.seed);
  s.threads = int(root.get_positive_int("threads", s.threads));
  if (root.has("data")) s.data = parse_data_spec(root.get_object("data"));
  if (root.has("attacker_data")) {
    s.attacker_data = parse_data_spec(root.get_object("attacker_data"));
    s.attacker_fraction = 1.0;
  }
  // Read (and checked) for every attack so that a sweep can set it once for all its entries.
  s.attacker_fraction = root.get_fraction("attacker_fraction", s.attacker_fraction, false);
  if (s.needs_attacker_data() && !s.data) {
    root.fail("data", "is required by the " + s.kind + " attack");
  }
  const std::string& k = s.kind;
  if (k == "prune") {
    s.rate = root.get_fraction("rate", s.rate, true);
    s.global = root.get_bool("global", s.global);
    s.structured = root.get_bool("structured", s.structured);
    if (s.global && s.structured) root.fail("structured", "pruning is per layer: set global to false");
  } else if (k == "quantize") {
    s.bits = root.get_int("bits", s.bits);
    if (s.bits < 1 || s.bits > 16) root.fail("bits", "must be in 1..16");
    s.per_channel = root.get_bool("per_channel", s.per_channel);
  } else if (k == "noise") {
    s.scale = root.get_number("scale", s.scale);
    if (s.scale < 0) root.fail("scale", "must be >= 0");
  } else if (k == "permute" || k == "scale" || k == "dummy" || k == "obfuscate") {
    s.layer = root.get_string("layer", "");
    if (k == "obfuscate") {
      s.dummy_fraction = root.get_fraction("dummy_fraction", s.dummy_fraction, true);
      s.permute = root.get_bool("permute", s.permute);
    }
    if (k == "scale" || k == "obfuscate") {
      s.low = root.get_number("low", s.low);
      s.high = root.get_number("high", s.high);
      if (!(s.low > 0 && s.high >= s.low)) root.fail("low", "and 'high' must satisfy 0 < low <= high");
    }
    if (k == "dummy") {
      s.units = root.get_positive_int("units", s.units);
      s.shuffle = root.get_bool("shuffle", s.shuffle);
    }
  } else if (k == "finetune") {
    FinetuneSpec& f = s.finetune;
    f.mode = root.get_choice("mode", f.mode, {"ftll", "ftal", "rtll", "rtal"});
    OptimizerSpec sgd;
    sgd.name = "sgd";
    sgd.momentum = 0.9;
    f.optimizer = parse_training_optimizer(root, sgd);
    f.epochs = root.get_positive_int("epochs", f.epochs);
    f.batch_size = root.get_positive_int("batch_size", f.batch_size);
    f.rebalance = root.get_bool("rebalance", f.rebalance);
  } else if (k == "distill") {
    DistillSpec& d = s.distill;
    if (root.has("student")) {
      s.has_student = true;
      d.student = parse_arch_spec(root.get_object("student"));
    }
    d.temperature = root.get_number("temperature", d.temperature);
    if (!(d.temperature > 0)) root.fail("temperature", "must be positive");
    d.optimizer = parse_training_optimizer(root, OptimizerSpec{});
    d.epochs = root.get_positive_int("epochs", d.epochs);
    d.batch_size = root.get_positive_int("batch_size", d.batch_size);
  } else if (k == "overwrite") {
    s.marks = root.get_choice("marks", s.marks, {"whitebox", "blackbox", "both"});
    int64_t epochs = root.has("epochs") ? root.get_positive_int("epochs", 1) : 0;
    Json data = data_spec_to_json(*s.data);
    // The attacker knows the method and the owner's default settings; only the seeds are theirs.
    Json wk = nested_json(root, json, "whitebox_key");
    if (wk.is_object() && !wk.contains("message") && !wk.contains("payload_seed")) {
      wk["payload_seed"] = int64_t(mix_seed(s.seed, 61) >> 12);
    }
    s.whitebox_key = parse_whitebox_key_spec(ConfigObject(wk, file, "whitebox_key"));
    Json we = nested_json(root, json, "whitebox_embed");
    for (auto [field, value] : {std::pair<const char*, Json>{"data", data},
                                {"measure_overhead", false},
                                {"seed", int64_t(s.seed)},
                                {"threads", s.threads}}) {
      if (!we.contains(field)) we[field] = value;
    }
    if (epochs > 0) we["max_epochs"] = epochs;
    s.whitebox_embed = parse_whitebox_embed_config(we, file + " (whitebox_embed)");
    s.blackbox_key = parse_blackbox_key_spec(root.get_object("blackbox_key"));
    Json be = nested_json(root, json, "blackbox_embed");
    for (auto [field, value] : {std::pair<const char*, Json>{"data", data},
                                {"seed", int64_t(s.seed)},
                                {"threads", s.threads}}) {
      if (!be.contains(field)) be[field] = value;
    }
    if (epochs > 0) be["max_rounds"] = epochs;
    be["kind"] = "blackbox";
    s.blackbox_embed = parse_blackbox_embed_config(be, file + " (blackbox_embed)");
  }
  root.finish();
  return s;
}

Dataset attacker_dataset(const AttackSpec& spec, const DataSplits& data,
                         const DataSplits* separate_pool) {
  const Dataset& pool = separate_pool ? separate_pool->train : data.train;
  if (pool.sample_shape() != data.test.sample_shape() ||
      pool.num_classes != data.test.num_classes) {
    throw InputError("attacker_data does not match the data's input shape and classes");
  }
  Dataset d = spec.attacker_fraction >= 1.0 ? pool
                                            : subset(pool, spec.attacker_fraction,
                                                     mix_seed(spec.seed, 71));
  if (d.size() == 0) throw InputError("the attacker's share of the data is empty");
  return d;
}

AttackResult apply_attack(const AttackSpec& spec, const LoadedModel& model,
                          const DataSplits* data, const Dataset* attacker) {
  AttackResult r;
  r.info = model.info;
  r.details = Json::object();
  const std::string& k = spec.kind;
  if (spec.needs_attacker_data() && (!data || !attacker)) {
    throw InputError("the " + k + " attack needs data");
  }
  if (k == "prune") {
    r.model = prune_magnitude(model.module, spec.rate, spec.global, spec.structured);
  } else if (k == "quantize") {
    r.model = quantize_weights(model.module, int(spec.bits), spec.per_channel);
  } else if (k == "noise") {
    r.model = add_weight_noise(model.module, spec.scale, spec.seed);
  } else if (k == "obfuscate") {
    // Every function-preserving transform at once: dummy units, a permutation, positive scales.
    std::string layer = spec.layer.empty() ? default_dense_layer(model.module) : spec.layer;
    int64_t width = 0;
    for (const auto& p : model.module.named_parameters()) {
      if (p.name == layer + ".weight") width = p.value.size(0);
    }
    int64_t units = int64_t(std::llround(spec.dummy_fraction * double(width)));
    torch::jit::Module m = model.module;
    if (units > 0) {
      m = add_dummy_units(m, r.info, layer, units, spec.permute, spec.seed);
    } else if (spec.permute) {
      m = permute_units(m, layer, spec.seed);
    }
    r.model = scale_units(m, layer, spec.low, spec.high, mix_seed(spec.seed, 5));
    r.details = Json{{"layer", layer}, {"dummy_units", units}, {"permuted", spec.permute}};
  } else if (k == "permute" || k == "scale" || k == "dummy") {
    std::string layer = spec.layer.empty() ? default_dense_layer(model.module) : spec.layer;
    r.details["layer"] = layer;
    if (k == "permute") r.model = permute_units(model.module, layer, spec.seed);
    if (k == "scale") r.model = scale_units(model.module, layer, spec.low, spec.high, spec.seed);
    if (k == "dummy") {
      r.model = add_dummy_units(model.module, r.info, layer, spec.units, spec.shuffle, spec.seed);
    }
  } else if (k == "finetune") {
    AttackTraining t = finetune_model(model.module, spec.finetune, *attacker, spec.seed);
    r.model = t.model;
    r.details["last_layer"] = last_dense_layer(t.model);
    r.details["rebalanced"] = spec.finetune.rebalance;
    r.details["epochs"] = Json::array();
    for (const auto& e : t.epochs) r.details["epochs"].push_back(epoch_stats_to_json(e));
  } else if (k == "distill") {
    DistillSpec d = spec.distill;
    if (!spec.has_student) {
      if (!model.info.contains("arch")) {
        throw InputError("distill: the model records no architecture; set 'student'");
      }
      d.student = parse_arch_spec(ConfigObject(model.info["arch"], model.path, "arch"));
    }
    torch::jit::Module teacher = clone_model(model.module);
    InputSpec input;
    AttackTraining t = distill_model(teacher, d, *attacker, spec.seed, &input);
    r.model = t.model;
    r.info["arch"] = arch_spec_to_json(d.student);
    r.info["normalization"] = Json{{"mean", input.mean}, {"std", input.std}};
    r.details["student"] = arch_spec_to_json(d.student);
    r.details["epochs"] = Json::array();
    for (const auto& e : t.epochs) r.details["epochs"].push_back(epoch_stats_to_json(e));
  } else if (k == "overwrite") {
    r.model = clone_model(model.module);
    DataSplits pool{*attacker, data->test, "", {}};
    std::vector<int64_t> shape = attacker->sample_shape();
    if (spec.marks != "blackbox") {
      Json meta;
      WhiteboxKey key = make_whitebox_key(spec.whitebox_key, r.model, model.path, shape, *attacker,
                                          mix_seed(spec.seed, 61), meta);
      WhiteboxEmbedResult e = embed_whitebox(r.model, model.path, key, pool, spec.whitebox_embed);
      r.details["whitebox"] = Json{{"layer", key.layer},       {"carriers", key.carriers},
                                   {"bits", key.total_bits()}, {"epochs", e.epochs},
                                   {"stop_reason", e.stop_reason}, {"attacker_ber", e.ber_after}};
    }
    if (spec.marks != "whitebox") {
      BlackboxKey cand = make_blackbox_candidates(spec.blackbox_key, r.model, shape,
                                                  attacker->num_classes, mix_seed(spec.seed, 67));
      try {
        BlackboxEmbedResult e = embed_blackbox(r.model, cand, shape, attacker->num_classes, pool,
                                               spec.blackbox_embed);
        r.details["blackbox"] = Json{{"embedded", true}, {"rounds", e.rounds},
                                     {"attacker_key_accuracy", e.key_accuracy}};
      } catch (const InputError&) {
        throw;
      } catch (const std::runtime_error& e) {
        // Too few of the attacker's candidates took within the budget: the model has still
        // been fine-tuned by the attempt, which is what matters to the owner.
        r.details["blackbox"] = Json{{"embedded", false}, {"why", e.what()}};
      }
    }
  }
  r.model.eval();
  return r;
}

}  // namespace ds
