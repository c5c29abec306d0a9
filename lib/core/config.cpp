// Strict, type-checked JSON config reading.
#include "core/config.h"

#include <cstdio>
#include <sstream>

#include "core/errors.h"
#include "core/files.h"

namespace ds {

Json json_pick(const Json& from, std::initializer_list<const char*> fields) {
  Json out = Json::object();
  for (const char* f : fields) {
    if (from.contains(f)) out[f] = from[f];
  }
  return out;
}

std::string json_text(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) {
    char b[32];
    std::snprintf(b, sizeof b, "%g", v.get<double>());
    return b;
  }
  return v.dump();
}

Json read_json_file(const std::string& path) {
  std::string text = read_file(path);
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    fail_input(path, "not valid JSON (byte " + std::to_string(e.byte) + ")");
  } catch (const Json::exception& e) {
    // e.g. a number too large for any type
    fail_input(path, std::string("not usable JSON (") + e.what() + ")");
  }
}

ConfigObject::ConfigObject(const Json& json, std::string file, std::string prefix)
    : json_(json), file_(std::move(file)), prefix_(std::move(prefix)) {
  if (!json_.is_object()) {
    fail_input(file_, (prefix_.empty() ? std::string("top level") : "field '" + prefix_ + "'") +
                          " must be an object");
  }
}

std::string ConfigObject::field_name(const std::string& key) const {
  return prefix_.empty() ? key : prefix_ + "." + key;
}

void ConfigObject::fail(const std::string& key, const std::string& problem) const {
  fail_input(file_, "field '" + field_name(key) + "' " + problem);
}

bool ConfigObject::has(const std::string& key) const { return json_.contains(key); }

const Json* ConfigObject::find(const std::string& key) {
  used_.insert(key);
  auto it = json_.find(key);
  return it == json_.end() ? nullptr : &*it;
}

namespace {
std::string type_of(const Json& j) {
  if (j.is_string()) return "a string";
  if (j.is_boolean()) return "a boolean";
  if (j.is_number_integer() || j.is_number_unsigned()) return "an integer";
  if (j.is_number()) return "a number";
  if (j.is_array()) return "a list";
  if (j.is_object()) return "an object";
  return "null";
}
}  // namespace

std::string ConfigObject::get_string(const std::string& key, const std::string& fallback) {
  const Json* j = find(key);
  if (!j) return fallback;
  if (!j->is_string()) fail(key, "must be a string, got " + type_of(*j));
  return j->get<std::string>();
}

double ConfigObject::get_number(const std::string& key, double fallback) {
  const Json* j = find(key);
  if (!j) return fallback;
  if (!j->is_number()) fail(key, "must be a number, got " + type_of(*j));
  return j->get<double>();
}

int64_t ConfigObject::get_int(const std::string& key, int64_t fallback) {
  const Json* j = find(key);
  if (!j) return fallback;
  if (!j->is_number_integer()) fail(key, "must be an integer, got " + type_of(*j));
  return j->get<int64_t>();
}

bool ConfigObject::get_bool(const std::string& key, bool fallback) {
  const Json* j = find(key);
  if (!j) return fallback;
  if (!j->is_boolean()) fail(key, "must be true or false, got " + type_of(*j));
  return j->get<bool>();
}

std::vector<int64_t> ConfigObject::get_int_list(const std::string& key,
                                                const std::vector<int64_t>& fallback) {
  const Json* j = find(key);
  if (!j) return fallback;
  if (!j->is_array()) fail(key, "must be a list of integers, got " + type_of(*j));
  std::vector<int64_t> out;
  for (const Json& v : *j) {
    if (!v.is_number_integer()) fail(key, "must be a list of integers");
    out.push_back(v.get<int64_t>());
  }
  return out;
}

ConfigObject ConfigObject::get_object(const std::string& key) {
  const Json* j = find(key);
  if (!j) return ConfigObject(Json::object(), file_, field_name(key));
  if (!j->is_object()) fail(key, "must be an object, got " + type_of(*j));
  return ConfigObject(*j, file_, field_name(key));
}

double ConfigObject::get_fraction(const std::string& key, double fallback, bool allow_zero) {
  double v = get_number(key, fallback);
  if (v > 1.0 || v < 0.0 || (!allow_zero && v == 0.0)) {
    std::ostringstream ss;
    ss << "must be in " << (allow_zero ? "[0, 1]" : "(0, 1]") << ", got " << v;
    fail(key, ss.str());
  }
  return v;
}

int64_t ConfigObject::get_positive_int(const std::string& key, int64_t fallback) {
  int64_t v = get_int(key, fallback);
  if (v <= 0) fail(key, "must be a positive integer, got " + std::to_string(v));
  return v;
}

uint64_t ConfigObject::get_seed(const std::string& key, uint64_t fallback) {
  int64_t v = get_int(key, int64_t(fallback));
  if (v < 0) fail(key, "must be >= 0");
  return uint64_t(v);
}

std::string ConfigObject::get_choice(const std::string& key, const std::string& fallback,
                                     const std::vector<std::string>& choices) {
  std::string v = get_string(key, fallback);
  for (const auto& c : choices) {
    if (c == v) return v;
  }
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
  fail(key, "must be one of " + list + ", got '" + v + "'");
}

void ConfigObject::finish() const {
  for (auto it = json_.begin(); it != json_.end(); ++it) {
    if (!used_.count(it.key())) fail_input(file_, "unknown field '" + field_name(it.key()) + "'");
  }
}

}  // namespace ds
