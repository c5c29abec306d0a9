// Keyed-region mark, serving side: the guard module that wraps a model for deployment and
// answers inputs inside the key's regions with the region's target class.
#pragma once

#include <torch/script.h>

#include "watermark/key_types.h"

namespace ds {

// TorchScript module "Guarded": `forward` returns the model's logits, except that for an input
// inside region k the target's logit and the top logit trade places, so the top-1 answer is the
// target and soft labels carry it too; `taps` passes through. Saved like any model.
torch::jit::Module guard_model(const torch::jit::Module& model, const RegionKey& key);

// True for a module made by guard_model.
bool is_guarded(const torch::jit::Module& model);

}  // namespace ds
