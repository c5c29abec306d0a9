// Key file reading and writing with content hashing and strict validation.
#include "watermark/key_file.h"

#include <map>

#include "core/errors.h"
#include "core/files.h"
#include "core/sha256.h"
#include "data/archive_check.h"
#include "watermark/key_fields.h"

namespace ds {
namespace {

constexpr const char* kFormat = "deepsigns-key";
constexpr int64_t kFormatVersion = 1;

std::string dtype_name(const torch::Tensor& t) {
  switch (t.scalar_type()) {
    case torch::kFloat32:
      return "float32";
    case torch::kInt64:
      return "int64";
    case torch::kUInt8:
      return "uint8";
    default:
      return "other";
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
  if (!key.regions) meta.erase("regions");
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
  if (key.regions) {
    const RegionKey& r = *key.regions;
    meta["regions"]["count"] = r.regions();
    meta["regions"]["fraction"] = r.fraction;
    for (auto [name, t] : {std::pair<const char*, const torch::Tensor*>{"centre", &r.centre},
                           {"directions", &r.directions},
                           {"thresholds", &r.thresholds},
                           {"targets", &r.targets},
                           {"excluded", &r.excluded},
                           {"inputs", &r.inputs},
                           {"input_regions", &r.input_regions}}) {
      f[std::string("regions.") + name] = *t;
    }
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

namespace {

// The pickled dict's fields, with the stored hash apart.
KeyFields read_field_table(const std::string& raw, const std::string& path) {
  check_pickle_archive(raw, path);  // before LibTorch's reader sees it (archive_check.h)
  c10::IValue v;
  try {
    v = torch::pickle_load(std::vector<char>(raw.begin(), raw.end()));
  } catch (const std::exception&) {
    fail_input(path, "not a deepsigns key (unreadable or truncated)");
  }
  if (!v.isGenericDict()) fail_input(path, "not a deepsigns key (no field table)");
  KeyFields k{path, {}, ""};
  for (const auto& kv : v.toGenericDict()) {
    if (!kv.key().isString()) fail_input(path, "not a deepsigns key (non-text field name)");
    const std::string& name = kv.key().toStringRef();
    if (name == "sha256") {
      if (!kv.value().isString()) fail_input(path, "field 'sha256' must be text");
      k.stored_hash = kv.value().toStringRef();
    } else {
      k.fields[name] = kv.value();
    }
  }
  return k;
}

// Format tag, field types, content hash, and the canonical bytes.
void check_integrity(const KeyFields& k, const std::string& raw) {
  const std::string& path = k.path;
  if (!k.get("format").isString() || k.get("format").toStringRef() != kFormat) {
    fail_input(path, "not a deepsigns key (wrong format tag)");
  }
  if (!k.get("format_version").isInt() || k.get("format_version").toInt() != kFormatVersion) {
    fail_input(path, "unsupported key format version");
  }
  for (const auto& [name, value] : k.fields) {
    if (!value.isTensor() && !value.isString() && !value.isInt()) {
      fail_input(path, "field '" + name + "' has an unsupported type");
    }
    if (value.isTensor()) check_tensor_storage(value.toTensor(), path, "field '" + name + "'");
  }
  if (k.stored_hash.empty()) fail_input(path, "key has no sha256");
  if (hash_fields(k.fields) != k.stored_hash) {
    fail_input(path, "key content does not match its sha256: the file was modified or corrupted");
  }
  // Bytes outside the content (archive headers, timestamps, padding) are covered too: a key
  // file must be exactly what write_key produces for its content.
  if (serialize_fields(k.fields, k.stored_hash) != raw) {
    fail_input(path, "key file is not in canonical form: the file was modified or corrupted");
  }
}

void read_meta(const KeyFields& k, OwnerKey& key) {
  if (!k.get("meta").isString()) fail_input(k.path, "field 'meta' must be text");
  try {
    key.meta = Json::parse(k.get("meta").toStringRef());
    key.input_shape = key.meta.at("input_shape").get<std::vector<int64_t>>();
    key.num_classes = key.meta.at("num_classes").get<int64_t>();
  } catch (const std::exception&) {
    fail_input(k.path, "field 'meta' is not valid key metadata");
  }
  if (key.input_shape.size() != 3 || key.num_classes < 2) {
    fail_input(k.path, "key metadata has a bad input shape or class count");
  }
}

std::optional<KeySignature> read_signature(const KeyFields& k) {
  const auto& f = k.fields;
  if (!f.count("signature.ed25519") && !f.count("signature.public_key") &&
      !f.count("signature.created")) {
    return std::nullopt;
  }
  KeySignature s;
  for (auto [name, into] :
       {std::pair<const char*, std::string*>{"signature.public_key", &s.public_key},
        {"signature.created", &s.created},
        {"signature.ed25519", &s.signature}}) {
    if (!f.count(name) || !f.at(name).isString()) {
      fail_input(k.path, std::string("signature field '") + name + "' is missing or not text");
    }
    *into = f.at(name).toStringRef();
  }
  return s;
}

}  // namespace

OwnerKey read_key(const std::string& path) {
  std::string raw = read_file(path);
  KeyFields k = read_field_table(raw, path);
  check_integrity(k, raw);
  OwnerKey key;
  key.sha256 = k.stored_hash;
  read_meta(k, key);
  key.signature = read_signature(k);
  if (key.meta.contains("whitebox")) key.whitebox = read_whitebox_part(k, key);
  if (key.meta.contains("blackbox")) key.blackbox = read_blackbox_part(k, key);
  if (key.meta.contains("regions")) key.regions = read_region_part(k, key);
  if (!key.whitebox && !key.blackbox && !key.regions)
    fail_input(path, "key has no white-box, black-box or keyed-region part");
  return key;
}

}  // namespace ds
