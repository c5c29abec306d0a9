// Strict reading of JSON configs: every field is type-checked and unknown fields are errors
// that name the file and the field, so a typo never silently falls back to a default.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace ds {

using Json = nlohmann::json;

// A JSON value as text for tables and labels: strings bare, floats in %g, the rest as JSON.
std::string json_text(const Json& v);

// The named fields of an object that it has, as a new object.
Json json_pick(const Json& from, std::initializer_list<const char*> fields);

// Parses a JSON file; throws InputError("<path>: ...") if it is missing or not valid JSON.
Json read_json_file(const std::string& path);

// A view of one JSON object inside a config file. Reads fields with defaults and remembers
// which ones were read; finish() rejects the rest.
class ConfigObject {
 public:
  // `file` names the config file in messages; `prefix` is the object's dotted path ("" at top).
  ConfigObject(const Json& json, std::string file, std::string prefix = "");

  bool has(const std::string& key) const;
  std::string get_string(const std::string& key, const std::string& fallback);
  double get_number(const std::string& key, double fallback);
  int64_t get_int(const std::string& key, int64_t fallback);
  bool get_bool(const std::string& key, bool fallback);
  std::vector<int64_t> get_int_list(const std::string& key, const std::vector<int64_t>& fallback);
  // A nested object; an empty one when the key is absent.
  ConfigObject get_object(const std::string& key);

  // Range checks that fail with a message naming the field.
  double get_fraction(const std::string& key, double fallback, bool allow_zero);
  int64_t get_positive_int(const std::string& key, int64_t fallback);
  uint64_t get_seed(const std::string& key, uint64_t fallback);  // a non-negative integer
  std::string get_choice(const std::string& key, const std::string& fallback,
                         const std::vector<std::string>& choices);

  // Throws InputError naming the first field that was never read.
  void finish() const;

  std::string field_name(const std::string& key) const;
  const std::string& file() const { return file_; }
  [[noreturn]] void fail(const std::string& key, const std::string& problem) const;

 private:
  const Json* find(const std::string& key);
  Json json_;
  std::string file_;
  std::string prefix_;
  std::set<std::string> used_;
};

}  // namespace ds
