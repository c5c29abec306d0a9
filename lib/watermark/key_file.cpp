// Key file reading and writing with content hashing and strict validation.
#include "watermark/key_file.h"

#include <map>

#include "core/errors.h"
#include "core/files.h"
#include "core/sha256.h"
#include "data/archive_check.h"
#include "watermark/ecc.h"

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

namespace {

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

bool sample_shape_is(const torch::Tensor& t, const std::vector<int64_t>& shape) {
  return std::vector<int64_t>(t.sizes().begin() + 1, t.sizes().end()) == shape;
}

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

// The realignment profile and the error-correction payload, when the key has them.
void read_whitebox_options(const KeyFields& k, const OwnerKey& key, WhiteboxKey& w) {
  const std::string& path = k.path;
  const Json& meta = key.meta["whitebox"];
  if (meta.contains("profile_count")) {
    w.profile_inputs = k.tensor("whitebox.profile_inputs", torch::kFloat32, 4);
    w.profile = k.tensor("whitebox.profile", torch::kFloat32, 2);
    if (w.profile.size(0) != w.profile_inputs.size(0) || w.profile.size(1) != w.layer_width ||
        w.profile.size(0) < 2 || !sample_shape_is(w.profile_inputs, key.input_shape)) {
      fail_input(path, "white-box profile does not match the layer width or input shape");
    }
  }
  if (meta.contains("ecc")) {
    try {
      const Json& e = meta["ecc"];
      if (e.at("code") != "bch") throw std::runtime_error("code");
      w.ecc_m = e.at("m").get<int64_t>();
      w.ecc_t = e.at("t").get<int64_t>();
    } catch (const std::exception&) {
      fail_input(path, "white-box error-correction metadata is malformed");
    }
    w.payload = k.tensor("whitebox.payload", torch::kInt64, 2);
    std::string problem = check_ecc_payload(w);
    if (!problem.empty()) fail_input(path, "white-box error correction: " + problem);
  }
}

// Runs `read` over a part's metadata; any missing or mistyped field is `problem`.
template <typename Read>
void read_part_meta(const std::string& path, const char* problem, Read read) {
  try {
    read();
  } catch (const std::exception&) {
    fail_input(path, problem);
  }
}

WhiteboxKey read_whitebox_part(const KeyFields& k, const OwnerKey& key) {
  const std::string& path = k.path;
  WhiteboxKey w;
  read_part_meta(path, "white-box metadata is incomplete", [&] {
    const Json& m = key.meta["whitebox"];
    w.layer = m.at("layer").get<std::string>();
    w.layer_width = m.at("layer_width").get<int64_t>();
    w.carriers = m.at("carriers").get<std::vector<int64_t>>();
  });
  w.projection = k.tensor("whitebox.projection", torch::kFloat32, 2);
  w.bits = k.tensor("whitebox.bits", torch::kInt64, 2);
  w.triggers = k.tensor("whitebox.triggers", torch::kFloat32, 4);
  w.trigger_labels = k.tensor("whitebox.trigger_labels", torch::kInt64, 1);
  int64_t n = w.bits.size(1);
  if (w.projection.size(0) != w.layer_width || w.projection.size(1) != n ||
      w.bits.size(0) != int64_t(w.carriers.size()) || n < 1) {
    fail_input(path, "white-box projection, bits and carriers disagree in shape");
  }
  if (w.bits.lt(0).any().item<bool>() || w.bits.gt(1).any().item<bool>()) {
    fail_input(path, "white-box bits must be 0 or 1");
  }
  if (w.triggers.size(0) != w.trigger_labels.size(0) || w.triggers.size(0) < 1 ||
      !sample_shape_is(w.triggers, key.input_shape)) {
    fail_input(path, "white-box triggers do not match the key's input shape");
  }
  for (int64_t c : w.carriers) {
    if (c < 0 || c >= key.num_classes) fail_input(path, "white-box carrier class out of range");
  }
  read_whitebox_options(k, key, w);
  return w;
}

BlackboxKey read_blackbox_part(const KeyFields& k, const OwnerKey& key) {
  const std::string& path = k.path;
  BlackboxKey b;
  read_part_meta(path, "black-box metadata is incomplete", [&] {
    const Json& m = key.meta["blackbox"];
    b.stage = m.at("stage").get<std::string>();
    b.keys_wanted = m.at("keys_wanted").get<int64_t>();
    b.false_claim_probability = m.at("false_claim_probability").get<double>();
    b.generator = m.at("generator");
  });
  b.inputs = k.tensor("blackbox.inputs", torch::kFloat32, 4);
  b.labels = k.tensor("blackbox.labels", torch::kInt64, 1);
  b.base_predictions = k.tensor("blackbox.base_predictions", torch::kInt64, 1);
  if (b.stage != "candidates" && b.stage != "final") fail_input(path, "unknown black-box stage");
  if (b.inputs.size(0) != b.labels.size(0) || b.labels.size(0) != b.base_predictions.size(0) ||
      b.labels.size(0) < 1 || !sample_shape_is(b.inputs, key.input_shape)) {
    fail_input(path, "black-box inputs, labels and input shape disagree");
  }
  if (b.labels.min().item<int64_t>() < 0 || b.labels.max().item<int64_t>() >= key.num_classes) {
    fail_input(path, "black-box label out of range");
  }
  if (!(b.false_claim_probability > 0 && b.false_claim_probability < 1) || b.keys_wanted < 1) {
    fail_input(path, "black-box decision settings out of range");
  }
  return b;
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
  if (!key.whitebox && !key.blackbox)
    fail_input(path, "key has neither a white-box nor a black-box part");
  return key;
}

}  // namespace ds
