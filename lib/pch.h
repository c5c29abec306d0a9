// Precompiled header for every LibTorch translation unit (the library, tools and tests).
#pragma once

#include <torch/script.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>
