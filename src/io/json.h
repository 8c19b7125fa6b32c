// A small strict JSON reader (RFC 8259) for safetensors headers, checkpoint indexes and model
// config.json files. Objects keep their key order; integers that fit int64 stay exact (tensor
// offsets in a 25 GB file do not survive a trip through double).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace uspdit::io {

class Json {
 public:
  enum class Type { kNull, kBool, kInt, kDouble, kString, kArray, kObject };

  // Parses a whole document (surrounding whitespace allowed). Throws UsageError
  // "<what>: invalid JSON at byte N: <reason>"; `what` names the source, e.g. the file.
  static Json parse(std::string_view text, const std::string& what);
  // Reads and parses the file at `path`. Unreadable: UsageError "cannot read <path>", followed by
  // " (<hint>)" when a hint is given.
  static Json parse_file(const std::string& path, const std::string& hint = "");

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_int() const { return type_ == Type::kInt; }
  bool is_number() const { return type_ == Type::kInt || type_ == Type::kDouble; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }
  // "null", "a boolean", "an integer", "a number", "a string", "an array", "an object".
  std::string type_name() const;

  // Accessors throw UsageError("JSON value is <type>, expected <type>") on a type mismatch;
  // callers that can name the field should check the type first and say more.
  bool as_bool() const;
  int64_t as_int() const;
  double as_number() const;  // integers too
  const std::string& as_string() const;

  // Arrays and objects: number of items; item(i) for both, key(i) for objects.
  size_t size() const { return items_.size(); }
  const Json& item(size_t i) const { return items_.at(i); }
  const std::string& key(size_t i) const { return keys_.at(i); }
  // Object member by key, or nullptr (also for non-objects).
  const Json* find(std::string_view key) const;

 private:
  friend class JsonParser;
  Type type_ = Type::kNull;
  bool bool_ = false;
  int64_t int_ = 0;
  double double_ = 0;
  std::string string_;
  std::vector<Json> items_;        // array items or object values
  std::vector<std::string> keys_;  // object keys, parallel to items_
};

}  // namespace uspdit::io
