// The attack kinds ds-attack knows, one entry each: its name, whether it trains on the
// attacker's data, the fields a sweep draws along x, and its parser. Adding an attack is one
// file in this folder and one line in registry.cpp.
#pragma once

#include <string>
#include <vector>

#include "attack/attack.h"

namespace ds {

struct AttackKind {
  std::string name;
  bool needs_attacker_data = false;
  // Fields of the kind that measure the attack's strength, in order of preference: the x axis
  // of a sweep panel that varies several of them.
  std::vector<std::string> strength_axes;
  AttackParser parse = nullptr;
};

const std::vector<AttackKind>& attack_kinds();
// The entry called `name`, or null.
const AttackKind* find_attack_kind(const std::string& name);

// Parses and checks an attack config; errors name `file` and the field.
AttackSpec parse_attack_spec(const Json& json, const std::string& file);

// Applies the attack to a copy of `model`; `data` must be loaded when the attack needs it.
AttackResult apply_attack(const AttackSpec& spec, const LoadedModel& model, const DataSplits* data,
                          const Dataset* attacker_data);

// The attacker's share of the data: a seeded fraction of the pool.
Dataset attacker_dataset(const AttackSpec& spec, const DataSplits& data,
                         const DataSplits* separate_pool);

}  // namespace ds
