// A key file's field table as read, and the readers that check each watermark part in it
// (internal to key_file.cpp and key_parts.cpp).
#pragma once

#include <torch/script.h>

#include <map>
#include <string>
#include <vector>

#include "core/errors.h"
#include "watermark/key_types.h"

namespace ds {

// A key file's field table, read and checked: every lookup failure names the file.
struct KeyFields {
  std::string path;
  std::map<std::string, c10::IValue> fields;
  std::string stored_hash;

  const c10::IValue& get(const std::string& name) const {
    auto it = fields.find(name);
    if (it == fields.end()) fail_input(path, "not a deepsigns key (missing field '" + name + "')");
    return it->second;
  }
  torch::Tensor tensor(const std::string& name, c10::ScalarType type, int64_t dims) const {
    const c10::IValue& t = get(name);
    if (!t.isTensor() || t.toTensor().scalar_type() != type || t.toTensor().dim() != dims) {
      fail_input(path, "field '" + name + "' has the wrong type or shape");
    }
    return t.toTensor().contiguous();
  }
};

inline bool sample_shape_is(const torch::Tensor& t, const std::vector<int64_t>& shape) {
  return std::vector<int64_t>(t.sizes().begin() + 1, t.sizes().end()) == shape;
}


WhiteboxKey read_whitebox_part(const KeyFields& k, const OwnerKey& key);
BlackboxKey read_blackbox_part(const KeyFields& k, const OwnerKey& key);
RegionKey read_region_part(const KeyFields& k, const OwnerKey& key);

}  // namespace ds
