// The white-box embedding loss as a TorchScript module, for training loops outside deepsigns
// (Python, any device, DDP): `loss = ce + wm(model.taps(x), y)`.
#pragma once

#include <torch/script.h>

#include <string>

#include "core/config.h"
#include "watermark/key_types.h"
#include "watermark/whitebox_embed.h"

namespace ds {

// The module: key material (projection, bits, carriers), the embedding config's weights and
// margin, and the centres as a trainable parameter starting where ds-embed-wm's would (`start`).
// forward(taps: Dict[str, Tensor], labels: Tensor) -> Tensor is the same loss ds-embed-wm adds
// to cross-entropy, per batch, without the cross-entropy. Throws InputError for a config the
// module cannot express (pull_noise, hardening: both rewrite weights, not a loss).
torch::jit::Module make_whitebox_loss(const WhiteboxKey& key, const WhiteboxEmbedConfig& config,
                                      int64_t num_classes, const EmbedCentres& start);

// What the module holds, for the loss file's description and the report.
Json whitebox_loss_description(const WhiteboxKey& key, const WhiteboxEmbedConfig& config,
                               const EmbedCentres& start);

}  // namespace ds
