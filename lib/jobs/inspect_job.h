// The ds-inspect job: a model's description, parameters and taps, as JSON for a pipeline.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"

namespace ds {

// {model, sha256, input_shape, parameters, parameter_count, taps, info}. `input_shape` (C, H, W)
// is for models that do not record theirs; empty: the recorded one.
Json inspect_model(const std::string& model_path, const std::vector<int64_t>& input_shape);

}  // namespace ds
