// Writing the white-box embedding loss as a TorchScript file (ds-gen-keys --export-loss), for a
// user's own training loop.
#pragma once

#include <string>

#include "core/config.h"
#include "model/model_io.h"
#include "watermark/key_types.h"

namespace ds {

// Writes `out_path`: the loss of `key`'s white-box part under the embedding config at
// `embed_config_path` (weights, margin, centre start on its data, computed with `model`, the
// model the loop starts from). Returns the report entry. InputError naming the key or the
// config when the key has no white-box part or the config cannot be exported.
Json write_whitebox_loss(const OwnerKey& key, const std::string& key_path, LoadedModel& model,
                         const std::string& embed_config_path, const std::string& out_path);

}  // namespace ds
