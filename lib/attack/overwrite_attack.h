// The overwriting attack: a thief who knows the method embeds their own watermark (white-box,
// black-box or both) with fresh keys, the owner's procedure with the thief's seeds.
#pragma once

#include <memory>

#include "attack/attack.h"

namespace ds {

// Registry parser of "overwrite".
std::unique_ptr<Attack> parse_overwrite_attack(ConfigObject& root, const Json& json,
                                               const AttackSpec& common);

}  // namespace ds
