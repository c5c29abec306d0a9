// Key file reading and writing with content hashing and strict validation.
#include "keys.h"

#include <map>

#include "ecc.h"
#include "archive_check.h"
#include "errors.h"
#include "files.h"
#include "sha256.h"

namespace ds {
namespace {

constexpr const char* kFormat = "deepsigns-key";
constexpr int64_t kFormatVersion = 1;

std::string dtype_name(const torch::Tensor& t) {
  switch (t.scalar_type()) {
    case torch::kFloat32: return "float32";
    case torch::kInt64: return "int64";
    case torch::kUInt8: return "uint8";
    default: return "other";
  }
}

void hash_field(Sha256& h, const std::string& name, const std::string& payload) {
  uint64_t n = name.size(), p = payload.size();
  h.update(&n, 8);
  h.update(name);
  h.update(&p, 8);
  h.update(payload);
}

std::string tensor_payload(const torch::Tensor& t) {
  torch::Tensor c = t.contiguous();
  std::string shape;
  for (int64_t d : c.sizes()) shape += (shape.empty() ? "" : "x") + std::to_string(d);
  std::string out = "tensor:" + dtype_name(c) + ":" + shape + ":";
  out.append(static_cast<const char*>(c.data_ptr()), size_t(c.nbytes()));
  return out;
}

// The fields of the file except "sha256", by name.
std::map<std::string, c10::IValue> fields_of(const OwnerKey& key) {
  Json meta = key.meta;
  meta["input_shape"] = key.input_shape;
  meta["num_classes"] = key.num_classes;
  if (!key.whitebox) meta.erase("whitebox");
  if (!key.blackbox) meta.erase("blackbox");
  std::map<std::string, c10::IValue> f;
  f["format"] = std::string(kFormat);
  f["format_version"] = kFormatVersion;
  if (key.whitebox) {
    const WhiteboxKey& w = *key.whitebox;
    meta["whitebox"]["layer"] = w.layer;
    meta["whitebox"]["layer_width"] = w.layer_width;
    meta["whitebox"]["carriers"] = w.carriers;
    meta["whitebox"]["bits_per_carrier"] = w.bits_per_carrier();
    f["whitebox.projection"] = w.projection;
    f["whitebox.bits"] = w.bits;
    f["whitebox.triggers"] = w.triggers;
    f["whitebox.trigger_labels"] = w.trigger_labels;
    if (w.has_profile()) {
      meta["whitebox"]["profile_count"] = w.profile.size(0);
      f["whitebox.profile_inputs"] = w.profile_inputs;
      f["whitebox.profile"] = w.profile;
    }
    if (w.has_ecc()) {
      meta["whitebox"]["ecc"] = Json{{"code", "bch"}, {"m", w.ecc_m}, {"t", w.ecc_t}};
      f["whitebox.payload"] = w.payload;
    }
  }
  if (key.blackbox) {
    const BlackboxKey& b = *key.blackbox;
    meta["blackbox"]["stage"] = b.stage;
    meta["blackbox"]["keys_wanted"] = b.keys_wanted;
    meta["blackbox"]["false_claim_probability"] = b.false_claim_probability;
    meta["blackbox"]["generator"] = b.generator;
    f["blackbox.inputs"] = b.inputs;
    f["blackbox.labels"] = b.labels;
    f["blackbox.base_predictions"] = b.base_predictions;
  }
  f["meta"] = meta.dump();
  if (key.signature) {
    f["signature.public_key"] = key.signature->public_key;
    f["signature.created"] = key.signature->created;
    f["signature.ed25519"] = key.signature->signature;
  }
  return f;
}

std::string hash_fields(const std::map<std::string, c10::IValue>& fields) {
  Sha256 h;
  for (const auto& [name, v] : fields) {
    if (v.isTensor()) {
      hash_field(h, name, tensor_payload(v.toTensor()));
    } else if (v.isString()) {
      hash_field(h, name, "str:" + v.toStringRef());
    } else if (v.isInt()) {
      hash_field(h, name, "int:" + std::to_string(v.toInt()));
    } else {
      throw std::logic_error("key field of unsupported type: " + name);
    }
  }
  return h.hex_digest();
}

}  // namespace

std::string key_content_hash(const OwnerKey& key) { return hash_fields(fields_of(key)); }

std::string key_commitment_digest(const OwnerKey& key) {
  OwnerKey unsigned_key = key;
  unsigned_key.signature.reset();
  return hash_fields(fields_of(unsigned_key));
}

// The file's bytes for these fields: deterministic, so a reader can demand canonical form.
static std::string serialize_fields(const std::map<std::string, c10::IValue>& fields,
                             const std::string& hash) {
  c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
  for (const auto& [name, v] : fields) dict.insert(name, v);
  dict.insert("sha256", hash);
  std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
  return std::string(bytes.begin(), bytes.end());
}

void write_key(OwnerKey& key, const std::string& path) {
  auto fields = fields_of(key);
  key.sha256 = hash_fields(fields);
  write_file_atomically(path, serialize_fields(fields, key.sha256));
}

OwnerKey read_key(const std::string& path) {
  std::string raw = read_file(path);
  check_pickle_archive(raw, path);  // before LibTorch's reader sees it (archive_check.h)
  c10::IValue v;
  try {
    v = torch::pickle_load(std::vector<char>(raw.begin(), raw.end()));
  } catch (const std::exception&) {
    fail_input(path, "not a deepsigns key (unreadable or truncated)");
  }
  if (!v.isGenericDict()) fail_input(path, "not a deepsigns key (no field table)");
  std::map<std::string, c10::IValue> fields;
  std::string stored_hash;
  for (const auto& kv : v.toGenericDict()) {
    if (!kv.key().isString()) fail_input(path, "not a deepsigns key (non-text field name)");
    const std::string& name = kv.key().toStringRef();
    if (name == "sha256") {
      if (!kv.value().isString()) fail_input(path, "field 'sha256' must be text");
      stored_hash = kv.value().toStringRef();
    } else {
      fields[name] = kv.value();
    }
  }
  auto get = [&](const std::string& name) -> const c10::IValue& {
    auto it = fields.find(name);
    if (it == fields.end()) fail_input(path, "not a deepsigns key (missing field '" + name + "')");
    return it->second;
  };
  if (!get("format").isString() || get("format").toStringRef() != kFormat) {
    fail_input(path, "not a deepsigns key (wrong format tag)");
  }
  if (!get("format_version").isInt() || get("format_version").toInt() != kFormatVersion) {
    fail_input(path, "unsupported key format version");
  }
  for (const auto& [name, value] : fields) {
    if (!value.isTensor() && !value.isString() && !value.isInt()) {
      fail_input(path, "field '" + name + "' has an unsupported type");
    }
    if (value.isTensor()) check_tensor_storage(value.toTensor(), path, "field '" + name + "'");
  }
  if (stored_hash.empty()) fail_input(path, "key has no sha256");
  if (hash_fields(fields) != stored_hash) {
    fail_input(path, "key content does not match its sha256: the file was modified or corrupted");
  }
  // Bytes outside the content (archive headers, timestamps, padding) are covered too: a key
  // file must be exactly what write_key produces for its content.
  if (serialize_fields(fields, stored_hash) != raw) {
    fail_input(path, "key file is not in canonical form: the file was modified or corrupted");
  }

  OwnerKey key;
  key.sha256 = stored_hash;
  if (!get("meta").isString()) fail_input(path, "field 'meta' must be text");
  try {
    key.meta = Json::parse(get("meta").toStringRef());
    key.input_shape = key.meta.at("input_shape").get<std::vector<int64_t>>();
    key.num_classes = key.meta.at("num_classes").get<int64_t>();
  } catch (const std::exception&) {
    fail_input(path, "field 'meta' is not valid key metadata");
  }
  if (key.input_shape.size() != 3 || key.num_classes < 2) {
    fail_input(path, "key metadata has a bad input shape or class count");
  }
  if (fields.count("signature.ed25519") || fields.count("signature.public_key") ||
      fields.count("signature.created")) {
    KeySignature s;
    for (auto [name, into] : {std::pair<const char*, std::string*>{"signature.public_key", &s.public_key},
                              {"signature.created", &s.created},
                              {"signature.ed25519", &s.signature}}) {
      if (!fields.count(name) || !fields.at(name).isString()) {
        fail_input(path, std::string("signature field '") + name + "' is missing or not text");
      }
      *into = fields.at(name).toStringRef();
    }
    key.signature = s;
  }
  auto tensor = [&](const std::string& name, c10::ScalarType type, int64_t dims) {
    const c10::IValue& t = get(name);
    if (!t.isTensor() || t.toTensor().scalar_type() != type || t.toTensor().dim() != dims) {
      fail_input(path, "field '" + name + "' has the wrong type or shape");
    }
    return t.toTensor().contiguous();
  };
  if (key.meta.contains("whitebox")) {
    WhiteboxKey w;
    try {
      const Json& m = key.meta["whitebox"];
      w.layer = m.at("layer").get<std::string>();
      w.layer_width = m.at("layer_width").get<int64_t>();
      w.carriers = m.at("carriers").get<std::vector<int64_t>>();
    } catch (const std::exception&) {
      fail_input(path, "white-box metadata is incomplete");
    }
    w.projection = tensor("whitebox.projection", torch::kFloat32, 2);
    w.bits = tensor("whitebox.bits", torch::kInt64, 2);
    w.triggers = tensor("whitebox.triggers", torch::kFloat32, 4);
    w.trigger_labels = tensor("whitebox.trigger_labels", torch::kInt64, 1);
    int64_t n = w.bits.size(1);
    if (w.projection.size(0) != w.layer_width || w.projection.size(1) != n ||
        w.bits.size(0) != int64_t(w.carriers.size()) || n < 1) {
      fail_input(path, "white-box projection, bits and carriers disagree in shape");
    }
    if (w.bits.lt(0).any().item<bool>() || w.bits.gt(1).any().item<bool>()) {
      fail_input(path, "white-box bits must be 0 or 1");
    }
    if (w.triggers.size(0) != w.trigger_labels.size(0) || w.triggers.size(0) < 1 ||
        std::vector<int64_t>(w.triggers.sizes().begin() + 1, w.triggers.sizes().end()) !=
            key.input_shape) {
      fail_input(path, "white-box triggers do not match the key's input shape");
    }
    for (int64_t c : w.carriers) {
      if (c < 0 || c >= key.num_classes) fail_input(path, "white-box carrier class out of range");
    }
    if (key.meta["whitebox"].contains("profile_count")) {
      w.profile_inputs = tensor("whitebox.profile_inputs", torch::kFloat32, 4);
      w.profile = tensor("whitebox.profile", torch::kFloat32, 2);
      if (w.profile.size(0) != w.profile_inputs.size(0) || w.profile.size(1) != w.layer_width ||
          w.profile.size(0) < 2 ||
          std::vector<int64_t>(w.profile_inputs.sizes().begin() + 1,
                               w.profile_inputs.sizes().end()) != key.input_shape) {
        fail_input(path, "white-box profile does not match the layer width or input shape");
      }
    }
    if (key.meta["whitebox"].contains("ecc")) {
      try {
        const Json& e = key.meta["whitebox"]["ecc"];
        if (e.at("code") != "bch") throw std::runtime_error("code");
        w.ecc_m = e.at("m").get<int64_t>();
        w.ecc_t = e.at("t").get<int64_t>();
      } catch (const std::exception&) {
        fail_input(path, "white-box error-correction metadata is malformed");
      }
      w.payload = tensor("whitebox.payload", torch::kInt64, 2);
      std::string problem = check_ecc_payload(w);
      if (!problem.empty()) fail_input(path, "white-box error correction: " + problem);
    }
    key.whitebox = std::move(w);
  }
  if (key.meta.contains("blackbox")) {
    BlackboxKey b;
    try {
      const Json& m = key.meta["blackbox"];
      b.stage = m.at("stage").get<std::string>();
      b.keys_wanted = m.at("keys_wanted").get<int64_t>();
      b.false_claim_probability = m.at("false_claim_probability").get<double>();
      b.generator = m.at("generator");
    } catch (const std::exception&) {
      fail_input(path, "black-box metadata is incomplete");
    }
    b.inputs = tensor("blackbox.inputs", torch::kFloat32, 4);
    b.labels = tensor("blackbox.labels", torch::kInt64, 1);
    b.base_predictions = tensor("blackbox.base_predictions", torch::kInt64, 1);
    if (b.stage != "candidates" && b.stage != "final") fail_input(path, "unknown black-box stage");
    if (b.inputs.size(0) != b.labels.size(0) || b.labels.size(0) != b.base_predictions.size(0) ||
        b.labels.size(0) < 1 ||
        std::vector<int64_t>(b.inputs.sizes().begin() + 1, b.inputs.sizes().end()) !=
            key.input_shape) {
      fail_input(path, "black-box inputs, labels and input shape disagree");
    }
    if (b.labels.min().item<int64_t>() < 0 || b.labels.max().item<int64_t>() >= key.num_classes) {
      fail_input(path, "black-box label out of range");
    }
    if (!(b.false_claim_probability > 0 && b.false_claim_probability < 1) || b.keys_wanted < 1) {
      fail_input(path, "black-box decision settings out of range");
    }
    key.blackbox = std::move(b);
  }
  if (!key.whitebox && !key.blackbox) fail_input(path, "key has neither a white-box nor a black-box part");
  return key;
}

}  // namespace ds
