// What every attack kind shares: the settings common to all (seed, threads, the attacker's
// data), the inputs an attack reads, the result it returns, and the interface each kind
// implements. The kinds themselves are listed in registry.h.
#pragma once

#include <torch/script.h>

#include <memory>
#include <optional>
#include <string>

#include "core/config.h"
#include "data/data_spec.h"
#include "model/model_io.h"

namespace ds {

struct AttackSpec;

// What an attack may read: the suspect model and, for attacks that train, the data. Never the
// owner's key.
struct AttackInputs {
  const AttackSpec& spec;
  const LoadedModel& model;
  const DataSplits* data = nullptr;   // test split: accuracy; train split: the attacker's pool
  const Dataset* attacker = nullptr;  // the attacker's share (attacker_dataset)
};

struct AttackResult {
  torch::jit::Module model;
  Json info;     // the attacked model's description (changes for dummy and distill)
  Json details;  // what the attack did: layer chosen, epochs, attacker's embedding results
};

// One kind's settings and transform. Implementations copy the model before editing it.
class Attack {
 public:
  virtual ~Attack() = default;
  virtual AttackResult apply(const AttackInputs& in) const = 0;
};

// One attack, as read from a config (configs/attack-*.json): the fields every kind shares and
// the kind's own settings. Parsing checks every field before anything is loaded, so a sweep can
// reject a bad grid point before it starts.
struct AttackSpec {
  std::string kind;
  uint64_t seed = 1;
  int threads = 1;
  std::optional<DataSpec> data;           // test split: accuracy; train split: attacker's pool
  std::optional<DataSpec> attacker_data;  // a separate pool for the attacker (its train split)
  double attacker_fraction = 0.1;         // seeded share of the pool the attacker holds
  bool needs_attacker_data = false;       // the kind trains on the attacker's data
  std::shared_ptr<const Attack> attack;   // the kind's settings and transform

  // The kind's settings as its own type (for tests and reports); null for another kind.
  template <typename T>
  const T* settings() const {
    return dynamic_cast<const T*>(attack.get());
  }
};

// The registry's parser for one kind: reads the kind's fields from `root` (the whole config,
// also available as raw `json`) after the common ones are in `common`.
using AttackParser = std::unique_ptr<Attack> (*)(ConfigObject& root, const Json& json,
                                                 const AttackSpec& common);

}  // namespace ds
