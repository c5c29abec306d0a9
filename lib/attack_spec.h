// One attack, as read from a config (configs/attack-*.json): which transform, its settings, and
// the attacker's data. Parsing checks every field before anything is loaded, so a sweep can
// reject a bad grid point before it starts.
#pragma once

#include <torch/script.h>

#include <optional>
#include <string>

#include "attacks.h"
#include "blackbox.h"
#include "config.h"
#include "data.h"
#include "model_io.h"
#include "whitebox.h"

namespace ds {

struct AttackSpec {
  std::string kind;  // prune | quantize | noise | permute | scale | dummy | obfuscate | finetune |
                    // overwrite | distill
  uint64_t seed = 1;
  int threads = 1;
  std::optional<DataSpec> data;           // test split: accuracy; train split: attacker's pool
  std::optional<DataSpec> attacker_data;  // a separate pool for the attacker (its train split)
  double attacker_fraction = 0.1;         // seeded share of the pool the attacker holds
  // prune
  double rate = 0.5;
  bool global = true, structured = false;
  // quantize
  int64_t bits = 8;
  bool per_channel = false;
  // noise
  double scale = 0.1;
  // permute, scale, dummy
  std::string layer;  // empty: the last dense layer that feeds another one
  double low = 0.5, high = 2.0;
  int64_t units = 64;
  bool shuffle = true;
  // obfuscate: dummy units (a fraction of the layer's width), a permutation, then scales
  double dummy_fraction = 0.1;
  bool permute = true;
  // finetune
  FinetuneSpec finetune;
  // overwrite: the attacker's own keys and embedding, the owner's procedure with fresh seeds
  std::string marks = "whitebox";  // whitebox | blackbox | both
  WhiteboxKeySpec whitebox_key;
  WhiteboxEmbedConfig whitebox_embed;
  BlackboxKeySpec blackbox_key;
  BlackboxEmbedConfig blackbox_embed;
  // distill (distill.student is used only when has_student; otherwise the suspect's own
  // architecture, which zoo models record)
  bool has_student = false;
  DistillSpec distill;

  bool needs_attacker_data() const {
    return kind == "finetune" || kind == "overwrite" || kind == "distill";
  }
};

// Parses and checks an attack config; errors name `file` and the field.
AttackSpec parse_attack_spec(const Json& json, const std::string& file);

struct AttackResult {
  torch::jit::Module model;
  Json info;      // the attacked model's description (changes for dummy and distill)
  Json details;   // what the attack did: layer chosen, epochs, attacker's embedding results
};

// Applies the attack to a copy of `model`; `data` must be loaded when the attack needs it.
// Never reads the owner's key.
AttackResult apply_attack(const AttackSpec& spec, const LoadedModel& model,
                          const DataSplits* data, const Dataset* attacker_data);

// The attacker's share of the data: a seeded fraction of the pool.
Dataset attacker_dataset(const AttackSpec& spec, const DataSplits& data,
                         const DataSplits* separate_pool);

}  // namespace ds
