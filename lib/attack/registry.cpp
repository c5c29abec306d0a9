// The attack registry: one line per kind, and the parsing and dispatch every kind shares.
#include "attack/registry.h"

#include "attack/overwrite_attack.h"
#include "attack/serving_attacks.h"
#include "attack/training_attacks.h"
#include "attack/unit_attacks.h"
#include "attack/weight_attacks.h"
#include "attack/weight_shift_attack.h"
#include "core/errors.h"
#include "core/runtime.h"

namespace ds {

const std::vector<AttackKind>& attack_kinds() {
  // name, trains on the attacker's data, strength axes (a sweep's x, in order of preference).
  // clang-format off
  static const std::vector<AttackKind> kinds = {
      {"prune", false, {"rate", "attacker_fraction"}, parse_prune_attack},
      {"quantize", false, {"bits", "attacker_fraction"}, parse_quantize_attack},
      {"noise", false, {"scale", "attacker_fraction"}, parse_noise_attack},
      {"permute", false, {"attacker_fraction"}, parse_permute_attack},
      {"scale", false, {"high", "attacker_fraction"}, parse_scale_attack},
      {"dummy", false, {"units", "attacker_fraction"}, parse_dummy_attack},
      {"obfuscate", false, {"high", "attacker_fraction"}, parse_obfuscate_attack},
      {"finetune", true, {"epochs", "lr", "attacker_fraction"}, parse_finetune_attack},
      {"overwrite", true, {"epochs", "attacker_fraction"}, parse_overwrite_attack},
      {"distill", true, {"epochs", "lr", "attacker_fraction", "temperature"}, parse_distill_attack},
      {"extract", true, {"queries", "epochs", "attacker_fraction"}, parse_extract_attack},
      {"weight_shift", true, {"mean_shift", "noise", "epochs", "lr", "attacker_fraction"},
       parse_weight_shift_attack},
      {"preprocess", false, {"size", "bits", "scale", "quality", "attacker_fraction"},
       parse_preprocess_attack},
  };
  // clang-format on
  return kinds;
}

const AttackKind* find_attack_kind(const std::string& name) {
  for (const AttackKind& k : attack_kinds()) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

AttackSpec parse_attack_spec(const Json& json, const std::string& file) {
  ConfigObject root(json, file);
  std::vector<std::string> names;
  for (const AttackKind& k : attack_kinds()) names.push_back(k.name);
  AttackSpec s;
  s.kind = root.get_choice("attack", "", names);
  const AttackKind& kind = *find_attack_kind(s.kind);
  s.needs_attacker_data = kind.needs_attacker_data;
  s.seed = root.get_seed("seed", s.seed);
  s.threads = int(root.get_positive_int("threads", s.threads));
  if (root.has("data")) s.data = parse_data_spec(root.get_object("data"));
  if (root.has("attacker_data")) {
    s.attacker_data = parse_data_spec(root.get_object("attacker_data"));
    s.attacker_fraction = 1.0;
  }
  // Read (and checked) for every attack so that a sweep can set it once for all its entries.
  s.attacker_fraction = root.get_fraction("attacker_fraction", s.attacker_fraction, false);
  if (s.needs_attacker_data && !s.data) {
    root.fail("data", "is required by the " + s.kind + " attack");
  }
  s.attack = kind.parse(root, json, s);
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
  Dataset d = spec.attacker_fraction >= 1.0
                  ? pool
                  : subset(pool, spec.attacker_fraction, mix_seed(spec.seed, 71));
  if (d.size() == 0) throw InputError("the attacker's share of the data is empty");
  return d;
}

AttackResult apply_attack(const AttackSpec& spec, const LoadedModel& model, const DataSplits* data,
                          const Dataset* attacker) {
  if (spec.needs_attacker_data && (!data || !attacker)) {
    throw InputError("the " + spec.kind + " attack needs data");
  }
  AttackResult r = spec.attack->apply(AttackInputs{spec, model, data, attacker});
  r.model.eval();
  return r;
}

}  // namespace ds
